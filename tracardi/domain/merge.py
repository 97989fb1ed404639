"""Merging profiles that are one person into one: a pure function, the rules users of Tracardi asked for.

Tracardi's merge adds every number and lets the last string win, so ages and zip codes got summed and an old
empty field could wipe a new one. Here only counters are summed; any other value is taken from the profile
updated last (``metadata.time.update``), unless it is empty there; lists are unioned and dicts merged key by key,
so no non-empty field of any merged profile is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from tracardi.domain.profile import Profile

# values added together: visit and view counts, counters, metrics that accumulate
_SUMMED: Final = frozenset(
    {
        "stats.visits",
        "stats.views",
        "metadata.time.visit.count",
        *(f"data.metrics.{m}" for m in ("ltv", "ltcosc", "ltcocc", "ltcop", "ltcosv", "ltcocv")),
    }
)
# maps whose every entry is a counter
_SUMMED_MAPS: Final = frozenset({"stats.counters", "interests"})
_EARLIEST: Final = frozenset({"metadata.time.insert", "metadata.time.create"})
_LATEST: Final = frozenset(
    {"metadata.time.update", "metadata.time.segmentation", "metadata.time.visit.last", "metadata.time.visit.current"}
)
_OLDEST: Final = datetime.min.replace(tzinfo=UTC)


def is_empty(value: Any) -> bool:
    """None, an empty string, list or dict: what a merge never lets override a value."""
    return value is None or (isinstance(value, str | list | dict) and not value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _key(value: Any) -> Any:
    """A hashable stand-in for a list element (dicts and lists compare by content)."""
    if isinstance(value, dict | list):
        return msgspec.json.encode(value, order="sorted")
    return (type(value).__name__, value) if isinstance(value, bool) else value


def union(first: Sequence[Any], second: Sequence[Any]) -> list[Any]:
    """The elements of both lists, each once, in first-seen order."""
    out: list[Any] = []
    seen: set[Any] = set()
    for item in (*first, *second):
        key = _key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _merge(old: Any, new: Any, path: str) -> Any:
    """Merge the value at ``path`` of an older and a newer profile (builtins, datetimes kept as datetimes)."""
    if path in _SUMMED and _number(old) and _number(new):
        return old + new
    if (path in _EARLIEST or path in _LATEST) and isinstance(old, datetime) and isinstance(new, datetime):
        return min(old, new) if path in _EARLIEST else max(old, new)
    if isinstance(old, dict) and isinstance(new, dict):
        return _merge_dicts(old, new, path)
    if isinstance(old, list) or isinstance(new, list):
        if old is None or new is None:
            return new if old is None else old
        return union(old if isinstance(old, list) else [old], new if isinstance(new, list) else [new])
    return old if is_empty(new) else new


def _merge_dicts(old: dict[str, Any], new: dict[str, Any], path: str) -> dict[str, Any]:
    summed = path in _SUMMED_MAPS
    out = dict(old)
    for key, value in new.items():
        if key not in out:
            out[key] = value
        elif summed and _number(out[key]) and _number(value):
            out[key] = out[key] + value
        else:
            out[key] = _merge(out[key], value, f"{path}.{key}" if path else key)
    return out


def _updated(profile: Profile) -> datetime:
    return profile.metadata.time.update or profile.metadata.time.insert or _OLDEST


def merge_profiles(survivor: Profile, others: Sequence[Profile]) -> Profile:
    """One profile holding ``survivor`` and ``others``: the survivor's id, every id of all in ``ids``.

    Counters (visits, views, ``stats.counters``, interests, lifetime metrics) are summed; lists (segments
    included) are unioned; dicts (traits, consents, aux, personal data) are merged key by key; for any other
    value the most recently updated profile's non-empty value wins; first-seen times are the earliest, last-seen
    times the latest. The inputs are not changed.
    """
    # oldest first, the survivor after the others it ties with, so the newest (and on a tie the survivor) wins
    ordered = sorted([*others, survivor], key=lambda p: (_updated(p), p is survivor))
    merged: dict[str, Any] = {}
    for profile in ordered:
        merged = _merge_dicts(merged, msgspec.to_builtins(profile, builtin_types=(datetime,)), "")
    ids = union([survivor.id, *survivor.ids], [i for p in others for i in (p.id, *p.ids)])
    merged.update(id=survivor.id, ids=ids, active=True)
    merged["primary_id"] = survivor.primary_id or next((p.primary_id for p in others if p.primary_id), None)
    return msgspec.convert(merged, Profile, builtin_types=(datetime,))
