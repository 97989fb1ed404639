"""Event-to-profile mappings: copy event values into the profile as events arrive (Tracardi's "copying")."""

from __future__ import annotations

import copy
from typing import Any, Literal

import msgspec

from tracardi.domain import dotpath
from tracardi.domain.event import Event
from tracardi.domain.merge import is_empty, union
from tracardi.domain.paths import fit
from tracardi.domain.profile import Profile

Op = Literal["set", "append", "add", "increment", "only-if-empty"]


class MappingPair(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One copy: the value at an event path goes to a profile path by ``op``."""

    event: str
    """Event path, e.g. ``properties.email`` (or ``event@properties.email``)."""
    profile: str
    """Profile path, e.g. ``data.contact.email.main`` (or ``profile@...``)."""
    op: Op = "set"
    """set; append (to a list); add (to a list, once); increment (a number by the value); only-if-empty."""


class EventToProfile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The mappings applied to every event of one type whose condition holds."""

    id: str
    event_type: str
    mappings: list[MappingPair]
    name: str = ""
    description: str = ""
    enabled: bool = True
    condition: str = ""
    """A TQL condition over ``event@``, ``profile@`` and ``session@``; empty: always."""


def apply_pair(event: Event, profile: Profile, pair: MappingPair) -> bool:
    """Apply one pair whose paths are checked and plain (see ``paths``); True if the profile changed.

    A missing or null event value changes nothing (unlike Tracardi, 0, false and "" are copied). Raises
    msgspec.ValidationError or TypeError when the value does not fit the profile field.
    """
    source, target = pair.event, pair.profile
    value = dotpath.get(event, source)
    if value is dotpath.MISSING or value is None:
        return False
    current = dotpath.get(profile, target)
    current = None if current is dotpath.MISSING else current
    new = _combine(pair.op, current, copy.deepcopy(value))
    if new is _UNCHANGED:
        return False
    new = fit(new, target)
    if new == current:
        return False
    dotpath.set(profile, target, new)
    return True


_UNCHANGED: Any = object()


def _combine(op: Op, current: Any, value: Any) -> Any:
    if op == "set":
        return value
    if op == "only-if-empty":
        return value if is_empty(current) else _UNCHANGED
    if op == "increment":
        if not _number(value) or not (current is None or _number(current)):
            raise TypeError(f"increment needs numbers, got {type(current).__name__} + {type(value).__name__}")
        return (current or 0) + value
    items = _as_list(current)
    added = value if isinstance(value, list) else [value]
    return items + added if op == "append" else union(items, added)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        raise TypeError("cannot append to an object")
    return list(value) if isinstance(value, list) else [value]
