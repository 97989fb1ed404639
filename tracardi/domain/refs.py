"""References into what a flow or a condition sees: ``profile@traits.tier``, ``event@properties.price``.

A reference is an entity name, ``@`` and a dot path inside it. The entities are the keys of a scope mapping
(``profile``, ``session``, ``event``, ``payload``, ``flow``, ``memory``, ``source``); a reference without ``@``
names a path in the default entity the caller gives.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Any, Final

import msgspec

from tracardi.domain import dotpath

ENTITIES: Final = frozenset({"profile", "session", "event", "payload", "flow", "memory", "source"})


class Ref(msgspec.Struct, frozen=True):
    """An entity and a dot path in it; an empty path means the entity itself."""

    entity: str
    path: str

    def __str__(self) -> str:
        return f"{self.entity}@{self.path}"


@lru_cache(maxsize=4096)
def parse_ref(text: str, default: str = "payload") -> Ref:
    """``profile@traits.a`` -> Ref("profile", "traits.a"); raises ValueError naming what is wrong."""
    entity, at, path = text.strip().partition("@")
    if not at:
        entity, path = default, entity
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r} in {text!r}; use one of {', '.join(sorted(ENTITIES))}")
    if path:
        dotpath.split(path)
    return Ref(entity, path)


def read(scope: Mapping[str, Any], ref: Ref) -> Any:
    """The value the reference points at, or ``dotpath.MISSING``."""
    obj = scope.get(ref.entity, dotpath.MISSING)
    if obj is dotpath.MISSING or obj is None or not ref.path:
        return dotpath.MISSING if obj is None else obj
    return dotpath.get(obj, ref.path)


def write(scope: MutableMapping[str, Any], ref: Ref, value: Any) -> None:
    """Set the value; an empty path replaces the entity. Raises TypeError where the target cannot hold it."""
    if not ref.path:
        scope[ref.entity] = value
        return
    obj = scope.get(ref.entity)
    if obj is None:
        if ref.entity in ("profile", "session", "event", "source"):
            raise TypeError(f"there is no {ref.entity} to write {ref} into")
        obj = scope[ref.entity] = {}
    dotpath.set(obj, ref.path, value)


def delete(scope: MutableMapping[str, Any], ref: Ref) -> bool:
    """Remove the value; False when there was nothing to remove."""
    obj = scope.get(ref.entity)
    if obj is None:
        return False
    if not ref.path:
        del scope[ref.entity]
        return True
    return dotpath.delete(obj, ref.path)
