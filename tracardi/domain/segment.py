"""Post-event segments: a name, a condition over the profile, and the event types that re-evaluate it."""

from __future__ import annotations

import msgspec


class Segment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A segment the profile is in while ``condition`` holds, checked after events of ``event_types``."""

    id: str
    name: str
    condition: str
    """A TQL condition, e.g. ``profile@stats.visits > 3``; paths without ``@`` are in the profile."""
    event_types: list[str] = []
    """Event types after which the condition is checked; empty: after every event."""
    description: str = ""
    enabled: bool = True

    @property
    def machine_name(self) -> str:
        """What goes into ``profile.segments``: the name lower-cased, spaces as dashes (Tracardi's)."""
        return machine_name(self.name)


def machine_name(name: str) -> str:
    return "-".join(name.strip().lower().split())


def update_segments(segments: list[str], name: str, holds: bool) -> bool:
    """Add or remove ``name`` in a profile's segment list; True if it changed."""
    if holds and name not in segments:
        segments.append(name)
        return True
    if not holds and name in segments:
        segments.remove(name)
        return True
    return False
