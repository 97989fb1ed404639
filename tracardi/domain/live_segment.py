"""Live segments: segmentation re-run over every stored profile on a schedule, not only when an event arrives.

A post-event segment (``segment.py``) is re-checked only when its profile tracks an event, so a condition that
becomes true with time alone ("no visit for 30 days") never changes it; a live segment revisits every profile.
Tracardi calls the document a live-segment trigger (``WorkflowSegmentationTrigger``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from tracardi.domain.common import Entity, PrimaryEntity
from tracardi.domain.event import Event, EventMetadata, EventTime
from tracardi.domain.profile import Profile

LiveSegmentType = Literal["workflow", "condition"]
SEGMENTATION_EVENT = "@segmentation"
"""The type of the synthetic event a segmentation flow runs on (never stored)."""
SEGMENTATION_SOURCE = "@segmentation"
"""The source of that event, so flows and reports can tell segmentation runs apart."""


class LiveSegment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One live segment, run by the ``live-segmentation`` job over every profile."""

    id: str
    name: str
    description: str = ""
    enabled: bool = True
    type: LiveSegmentType = "condition"
    """``condition``: ``segment`` is in the profile's segments exactly while ``condition`` holds.
    ``workflow``: the flow ``flow_id`` (of type ``segmentation``) runs on each profile; what it changes is saved."""
    segment: str = ""
    """condition: the segment name added and removed (stored lower-cased, spaces as dashes)."""
    condition: str = ""
    """condition: a TQL condition on the profile, e.g. ``profile@metadata.time.visit.last < "2026-01-01"``."""
    flow_id: str = ""
    """workflow: the id of the segmentation flow."""
    timestamp: datetime | None = None


def segmentation_event(profile: Profile, now: datetime) -> Event:
    """The synthetic event a segmentation flow sees for ``profile`` (Tracardi's ``@segmentation``)."""
    return Event(
        id=f"segmentation:{profile.id}:{now.timestamp()}",
        type=SEGMENTATION_EVENT,
        name="Segmentation",
        source=Entity(id=SEGMENTATION_SOURCE),
        profile=PrimaryEntity(id=profile.id),
        metadata=EventMetadata(time=EventTime(insert=now, create=now), status="processed"),
    )
