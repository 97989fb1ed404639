"""Checks on a decoded tracker payload that msgspec types cannot express: counts, depth, empty types."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.payload import TrackerPayload


def _too_deep(value: Any, limit: int) -> bool:
    """Whether nested dicts/lists go deeper than ``limit`` levels (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        children: Iterable[Any] = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_payload(payload: TrackerPayload, *, max_events: int, max_depth: int, raw: bytes | None = None) -> None:
    """Raise InvalidInput naming the first offending field.

    With the raw body at hand the nesting walk is skipped when the body has fewer brackets than the limit allows.
    """
    if len(payload.events) > max_events:
        raise InvalidInput(
            f"Too many events in one payload: {len(payload.events)} > {max_events}.",
            [FieldError(("body", "events"), f"at most {max_events} events per request")],
        )
    if not payload.source.id.strip():
        raise InvalidInput("Source id can not be empty.", [FieldError(("body", "source", "id"), "must not be empty")])
    # a body cannot nest deeper than its number of brackets: then only the event types need a look
    shallow = raw is not None and raw.count(b"{") + raw.count(b"[") <= max_depth
    if shallow:
        for i, event in enumerate(payload.events):
            _check_event(i, event.type, None, None, max_depth)
        return
    for loc, value in (("context", payload.context), ("properties", payload.properties), ("request", payload.request)):
        if value and _too_deep(value, max_depth):
            raise InvalidInput(
                f"`{loc}` is nested deeper than {max_depth} levels.",
                [FieldError(("body", loc), f"nested deeper than {max_depth} levels")],
            )
    for i, event in enumerate(payload.events):
        _check_event(i, event.type, event.properties, event.context, max_depth)


def _check_event(i: int, etype: str, properties: Any, context: Any, max_depth: int) -> None:
    if not etype.strip():
        raise InvalidInput(
            "Event type can not be empty.", [FieldError(("body", "events", i, "type"), "must not be empty")]
        )
    for loc, value in (("properties", properties), ("context", context)):
        if value and _too_deep(value, max_depth):
            raise InvalidInput(
                f"events[{i}].{loc} is nested deeper than {max_depth} levels.",
                [FieldError(("body", "events", i, loc), f"nested deeper than {max_depth} levels")],
            )
