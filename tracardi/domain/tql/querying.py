"""Compile a TQL syntax tree into the documents port's query, so a condition can search stored documents.

The query selects the documents for which ``evaluate`` holds (see ``evaluate`` for the shared semantics), with
the store's own limits: times compare as their UTC ISO-8601 text (a date literal against a string holding a time
with another offset, or fractions of a second, may differ), and SQLite stores booleans as 1/0, so in the
embedded store ``== true`` also matches the number 1.
"""

from __future__ import annotations

from typing import Any, Final

from tracardi.domain import query as q
from tracardi.domain.tql.ast import (
    And,
    Between,
    Compare,
    Contains,
    Empty,
    EndsWith,
    Exists,
    Expr,
    Field,
    In,
    Not,
    Or,
    StartsWith,
    Value,
    order_of,
)

MAX_QUERY_DEPTH: Final = 32  # what the adapters accept
_NOTHING: Final = q.Or(items=())
_RANGE_OPS: Final = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


class TqlNotQueryable(ValueError):
    """The condition (or a part of it) cannot be a query: it reads another entity or compares two fields."""


def to_query(expr: Expr, entity: str = "profile") -> q.Condition:
    """The query of a condition over documents of ``entity``; bare paths are paths in those documents."""
    condition = _Compiler(entity).node(expr)
    if _depth(condition) > MAX_QUERY_DEPTH:
        raise TqlNotQueryable(f"the condition is nested too deeply to search (at most {MAX_QUERY_DEPTH} levels)")
    return condition


class _Compiler:
    def __init__(self, entity: str) -> None:
        self.entity = entity

    def node(self, expr: Expr) -> q.Condition:
        match expr:
            case And(items=items):
                return q.And(items=tuple(self.node(item) for item in items))
            case Or(items=items):
                return q.Or(items=tuple(self.node(item) for item in items))
            case Not(item=item):
                return q.Not(item=self.node(item))
            case Exists(field=field):
                return q.Exists(field=self.path(field))
            case Empty(field=field):
                path = self.path(field)
                return q.Or(items=(q.Not(item=q.Exists(field=path)), q.Eq(field=path, value="")))
            case In(field=field, values=values):
                return q.In(field=self.path(field), values=values)
            case Between(field=field, low=low, high=high):
                return self.between(field, low, high)
        return self.test(expr)

    def test(self, expr: Expr) -> q.Condition:
        match expr:
            case Compare(op=op, field=field, right=right):
                return self.compare(op, self.path(field), self.value(expr, right))
            case Contains(field=field, right=right):
                value = self.value(expr, right)
                path = self.path(field)
                return q.Substring(field=path, value=value) if isinstance(value, str) else q.Eq(field=path, value=value)
            case StartsWith(field=field, right=right):
                return q.Prefix(field=self.path(field), value=self.value(expr, right))
            case EndsWith(field=field, right=right):
                return q.Suffix(field=self.path(field), value=self.value(expr, right))
        raise TypeError(f"not a TQL expression: {expr!r}")

    def path(self, field: Field) -> str:
        if field.entity is not None and field.entity != self.entity:
            raise TqlNotQueryable(f"{field} reads the {field.entity}; a search can only read {self.entity} fields")
        return field.path

    @staticmethod
    def value(expr: Expr, right: Value | Field) -> Any:
        if isinstance(right, Field):
            raise TqlNotQueryable(f"a search cannot compare two fields ({right} in {type(expr).__name__})")
        return right.value

    @staticmethod
    def compare(op: str, path: str, value: Any) -> q.Condition:
        if op == "==":
            return q.Eq(field=path, value=value)
        if op == "!=":
            return q.Not(item=q.Eq(field=path, value=value))
        if order_of(value) is None:
            return _NOTHING  # null and booleans have no order
        return q.Range(field=path, **{_RANGE_OPS[op]: value})

    def between(self, field: Field, low: Any, high: Any) -> q.Condition:
        path = self.path(field)
        if order_of(low) is None or order_of(low) != order_of(high):
            return _NOTHING
        return q.Range(field=path, gte=low, lte=high)


def _depth(condition: q.Condition) -> int:
    match condition:
        case q.And(items=items) | q.Or(items=items):
            return 1 + max((_depth(item) for item in items), default=0)
        case q.Not(item=item):
            return 1 + _depth(item)
    return 1
