"""After the flows: post-event segments, added while their condition holds and removed when it stops holding."""

from __future__ import annotations

from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.domain.segment import update_segments
from tracardi.domain.session import Session
from tracardi.engine.profiling._conditions import holds
from tracardi.engine.profiling._config import CompiledSegment, ProfilingConfig


def segment(config: ProfilingConfig, events: list[Event], profile: Profile, session: Session | None) -> bool:
    """Re-check the segments the events' types trigger; True if ``profile.segments`` changed.

    The condition sees the profile (the default entity), the session and the last of the events.
    """
    todo = config.segments_for({e.type for e in events})
    return _check(todo, profile, session, events[-1] if events else None)


def segment_all(config: ProfilingConfig, event: Event, profile: Profile, session: Session | None) -> bool:
    """Re-check every enabled segment, whatever event types it waits for (a flow asking for it now)."""
    return _check(config.segments_for(set(config.segments_by_type)), profile, session, event)


def _check(todo: list[CompiledSegment], profile: Profile, session: Session | None, event: Event | None) -> bool:
    if not todo:
        return False
    scope = {"profile": profile, "session": session, "event": event}
    changed = False
    for item in todo:
        changed = update_segments(profile.segments, item.name, holds(item.condition, scope)) or changed
    return changed
