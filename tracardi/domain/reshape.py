"""Event reshaping: rename and copy event properties and change the event type as events arrive."""

from __future__ import annotations

import copy

import msgspec

from tracardi.domain import dotpath
from tracardi.domain.event import Event, event_name, normalize_event_type


class EventReshaping(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How events of one type (from one source, or any) are reshaped: copies, then renames, then the type."""

    id: str
    event_type: str
    source_id: str = ""
    """Only events from this source; empty: any source (a source-specific reshaping is preferred)."""
    name: str = ""
    description: str = ""
    enabled: bool = True
    copy: dict[str, str] = {}
    """Event path -> event path, e.g. ``{"properties.mail": "properties.email"}``; the source stays."""
    rename: dict[str, str] = {}
    """Event path -> event path; the value moves (the source path is removed)."""
    type: str = ""
    """The event's new type; empty: unchanged."""


def reshape_event(event: Event, reshaping: EventReshaping) -> None:
    """Apply a reshaping whose paths were checked; a missing source path is skipped."""
    for source, target in reshaping.copy.items():
        value = dotpath.get(event, source)
        if value is not dotpath.MISSING:
            dotpath.set(event, target, copy.deepcopy(value))
    for source, target in reshaping.rename.items():
        value = dotpath.get(event, source)
        if value is not dotpath.MISSING:
            dotpath.delete(event, source)
            dotpath.set(event, target, value)
    if reshaping.type:
        event.type = normalize_event_type(reshaping.type)
        event.name = event_name(event.type)
