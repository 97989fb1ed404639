"""The query AST that the documents port understands: what every storage adapter compiles.

Fields are dot paths inside a stored document (``profile.id``, ``metadata.time.insert``, ``ids``).
A path that names a list matches when any element matches (as in OpenSearch).
"""

from __future__ import annotations

from typing import Any

import msgspec


class Eq(msgspec.Struct, frozen=True, kw_only=True, tag="eq"):
    """The field equals the value (or, for a list field, contains it)."""

    field: str
    value: Any


class In(msgspec.Struct, frozen=True, kw_only=True, tag="in"):
    """The field equals one of the values."""

    field: str
    values: tuple[Any, ...]


class Range(msgspec.Struct, frozen=True, kw_only=True, tag="range"):
    """The field lies in a range; each bound is optional; missing fields never match."""

    field: str
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None


class Exists(msgspec.Struct, frozen=True, kw_only=True, tag="exists"):
    """The field is present and not null."""

    field: str


class And(msgspec.Struct, frozen=True, kw_only=True, tag="and"):
    """Every item matches (an empty And matches everything)."""

    items: tuple[Condition, ...]


class Or(msgspec.Struct, frozen=True, kw_only=True, tag="or"):
    """At least one item matches (an empty Or matches nothing)."""

    items: tuple[Condition, ...]


class Not(msgspec.Struct, frozen=True, kw_only=True, tag="not"):
    """The item does not match."""

    item: Condition


class Prefix(msgspec.Struct, frozen=True, kw_only=True, tag="prefix"):
    """A string value starts with the text (times are their ISO-8601 text); other values never match."""

    field: str
    value: str


class Suffix(msgspec.Struct, frozen=True, kw_only=True, tag="suffix"):
    """A string value ends with the text; other values never match."""

    field: str
    value: str


class Substring(msgspec.Struct, frozen=True, kw_only=True, tag="substring"):
    """A string value contains the text (case-sensitive); other values never match."""

    field: str
    value: str


Condition = Eq | In | Range | Exists | And | Or | Not | Prefix | Suffix | Substring


class Sort(msgspec.Struct, frozen=True, kw_only=True):
    """Order by a field; ties are always broken by document id in the same direction."""

    field: str
    desc: bool = False


def match_all() -> Condition:
    """A condition that every document satisfies."""
    return And(items=())
