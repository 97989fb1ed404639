"""Dot-path access into profiles, sessions, events and plain dicts (``traits.email``, ``data.contact.email.main``).

Structs are walked by attribute, dicts by key, lists by integer index. Reads of a missing path return ``MISSING``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def split(path: str) -> list[str]:
    """The segments of a dot path; raises ValueError for an empty segment."""
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise ValueError(f"invalid dot path: {path!r}")
    return parts


def _step(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, MISSING)
    if isinstance(obj, msgspec.Struct):
        return getattr(obj, key, MISSING) if key in obj.__struct_fields__ else MISSING
    if isinstance(obj, list) and key.lstrip("-").isdigit():
        index = int(key)
        return obj[index] if -len(obj) <= index < len(obj) else MISSING
    return MISSING


def get(obj: Any, path: str) -> Any:
    """The value at ``path``, or MISSING."""
    return walk(obj, split(path))


def walk(obj: Any, parts: Sequence[str]) -> Any:
    """The value at an already split path (see ``split``), or MISSING: for callers that read one path often."""
    for key in parts:
        obj = _step(obj, key)
        if obj is MISSING:
            return MISSING
    return obj


def set(obj: Any, path: str, value: Any) -> None:
    """Set the value at ``path``, creating dicts for missing intermediate keys.

    Raises TypeError when a segment crosses a scalar or names a field a Struct does not have.
    """
    parts = split(path)
    for key in parts[:-1]:
        nxt = _step(obj, key)
        if nxt is MISSING or nxt is None:
            nxt = {}
            _assign(obj, key, nxt)
        obj = nxt
    _assign(obj, parts[-1], value)


def _assign(obj: Any, key: str, value: Any) -> None:
    if isinstance(obj, dict):
        obj[key] = value
    elif isinstance(obj, msgspec.Struct) and key in obj.__struct_fields__:
        setattr(obj, key, value)
    else:
        raise TypeError(f"cannot set {key!r} on {type(obj).__name__}")


def delete(obj: Any, path: str) -> bool:
    """Remove the value at ``path`` (a Struct field is reset to None); False when there was nothing to remove."""
    parts = split(path)
    parent = get(obj, ".".join(parts[:-1])) if len(parts) > 1 else obj
    key = parts[-1]
    if isinstance(parent, dict):
        return parent.pop(key, MISSING) is not MISSING
    if isinstance(parent, list) and key.lstrip("-").isdigit() and -len(parent) <= int(key) < len(parent):
        del parent[int(key)]
        return True
    if isinstance(parent, msgspec.Struct) and key in parent.__struct_fields__:
        setattr(parent, key, None)
        return True
    return False
