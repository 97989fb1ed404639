"""Before the flows: validate the payload's events, reshape them, and map their values into the profile."""

from __future__ import annotations

import msgspec

from tracardi.domain import dotpath
from tracardi.domain.errors import EventRejected, FieldError
from tracardi.domain.event import Event
from tracardi.domain.mapping import apply_pair
from tracardi.domain.profile import Profile
from tracardi.domain.reshape import reshape_event
from tracardi.domain.session import Session
from tracardi.engine.profiling._conditions import holds
from tracardi.engine.profiling._config import ProfilingConfig
from tracardi.engine.profiling._schemas import first_error
from tracardi.log import get_logger

log = get_logger("profiling")


def validate(config: ProfilingConfig, index: int, event: Event) -> None:
    """Raise EventRejected naming the field of ``events[index]`` that fails a schema of its type and source."""
    for item in config.schemas.get(event.type, ()):
        schema = item.doc
        if schema.source_id and schema.source_id != event.source.id:
            continue
        instance = dotpath.get(event, schema.path)
        loc: list[str | int] = ["body", "events", index, *schema.path.split(".")]
        if instance is dotpath.MISSING:
            raise EventRejected(
                f"Validation failed with error: `{schema.path}` is missing.", [FieldError(loc, "missing")]
            )
        found = first_error(item.validator, instance)
        if found is not None:
            path, message = found
            raise EventRejected(
                f"Validation failed with error: {message} (schema `{schema.id}`).",
                [FieldError([*loc, *path], message)],
            )


def reshape(config: ProfilingConfig, event: Event) -> None:
    """Apply the first reshaping of the event's type for its source (a source-specific one first)."""
    for reshaping in config.reshapings.get(event.type, ()):
        if not reshaping.source_id or reshaping.source_id == event.source.id:
            reshape_event(event, reshaping)
            return


def map_to_profile(config: ProfilingConfig, event: Event, profile: Profile, session: Session | None) -> bool:
    """Apply the event type's mappings whose condition holds; True if the profile changed.

    A value that does not fit its profile field is skipped and logged, never half-written.
    """
    changed = False
    scope = {"event": event, "profile": profile, "session": session}
    for mapping in config.mappings.get(event.type, ()):
        if not holds(mapping.condition, scope):
            continue
        for pair in mapping.doc.mappings:
            try:
                changed = apply_pair(event, profile, pair) or changed
            except (msgspec.ValidationError, TypeError) as exc:
                log.warning("mapping_skipped", mapping=mapping.doc.id, target=pair.profile, error=str(exc))
    return changed
