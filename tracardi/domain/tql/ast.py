"""The syntax tree of a TQL condition: frozen, hashable Structs, so a parsed condition can be cached and shared.

A ``Field`` is a path in one entity of the scope (``profile@stats.visits``); ``entity`` is None for a bare path
(``stats.visits``), which means the caller's default entity. A ``Value`` is a literal: str, int, float, bool,
None or an aware ``datetime`` (date literals are midnight UTC). The tree is JSON-encodable (tagged unions), which
is how debug traces show it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

CompareOp = Literal["==", "!=", ">", ">=", "<", "<="]


class Field(msgspec.Struct, frozen=True, tag="field"):
    """A dot path in an entity of the scope; ``entity`` None means the default entity."""

    entity: str | None
    path: str

    def __str__(self) -> str:
        return self.path if self.entity is None else f"{self.entity}@{self.path}"


class Value(msgspec.Struct, frozen=True, tag="value"):
    """A literal."""

    value: Any


Operand = Field | Value


class Compare(msgspec.Struct, frozen=True, tag="compare"):
    """``field <op> operand``; ``!=`` is exactly the negation of ``==``."""

    op: CompareOp
    field: Field
    right: Operand


class Between(msgspec.Struct, frozen=True, tag="between"):
    """``low <= field <= high``, both bounds inclusive, both holding for one value (one element of a list)."""

    field: Field
    low: Any
    high: Any


class In(msgspec.Struct, frozen=True, tag="in"):
    """The field equals one of the values (a null among them also matches a missing field)."""

    field: Field
    values: tuple[Any, ...]


class Exists(msgspec.Struct, frozen=True, tag="exists"):
    """The field is present and not null (a list: holds a non-null element)."""

    field: Field


class Empty(msgspec.Struct, frozen=True, tag="empty"):
    """The field does not exist or is the empty string (a list: has no non-null element, or an empty string)."""

    field: Field


class Contains(msgspec.Struct, frozen=True, tag="contains"):
    """A string value holds the text; any other value equals the operand; a list: any element does."""

    field: Field
    right: Operand


class StartsWith(msgspec.Struct, frozen=True, tag="starts_with"):
    """A string value begins with the text (a list: any element does)."""

    field: Field
    right: Operand


class EndsWith(msgspec.Struct, frozen=True, tag="ends_with"):
    """A string value ends with the text (a list: any element does)."""

    field: Field
    right: Operand


class And(msgspec.Struct, frozen=True, tag="and"):
    """Every item holds."""

    items: tuple[Expr, ...]


class Or(msgspec.Struct, frozen=True, tag="or"):
    """At least one item holds."""

    items: tuple[Expr, ...]


class Not(msgspec.Struct, frozen=True, tag="not"):
    """The item does not hold."""

    item: Expr


Expr = Compare | Between | In | Exists | Empty | Contains | StartsWith | EndsWith | And | Or | Not


def order_of(value: Any) -> str | None:
    """The order a literal belongs to: ``number``, ``text`` or ``time``; None for null and booleans (no order).

    The bounds of a BETWEEN must share one, or nothing is between them.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime):
        return "time"
    return "text" if isinstance(value, str) else None
