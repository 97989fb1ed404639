"""Evaluate a TQL syntax tree against a scope of entities, by compiling it once to nested closures.

Semantics, the same as the stored-document search (``to_query``) wherever a condition can be a query:

- A missing path, or a path crossing a value that has no such key, reads as missing. Missing and null satisfy only
  ``NOT EXISTS``, ``EMPTY``, ``== null``, ``!=`` and ``NOT``/``NOT IN``/... of another condition.
- A list value satisfies a comparison when any of its elements does (as in OpenSearch): ``segments == "vip"``.
- Values compare only with values of their own type: numbers with numbers (booleans are not numbers), strings with
  strings, booleans by equality only. Anything else is false, never an error.
- A date/datetime literal reads the value as a time: a ``datetime`` as is, an ISO string by parsing it (an
  unparsable string is not a time); naive times are UTC. A string literal compared with a ``datetime`` value
  compares with its ISO text, as stored documents hold it.
- ``CONTAINS "text"`` is substring on strings, equality on other values; ``STARTS WITH``/``ENDS WITH`` apply to
  strings only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

import msgspec

from tracardi.domain import dotpath
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
)

Predicate = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]
Test = Callable[[Any, Any], bool]  # (value read, operand) -> holds

MISSING: Final = dotpath.MISSING
_NUMBERS: Final = (int, float)
_MAX_CACHE: Final = 4096
_compiled: dict[tuple[int, str], tuple[Expr, Predicate]] = {}


def evaluate(expr: Expr, scope: Mapping[str, Any], default: str = "profile") -> bool:
    """Whether the condition holds for the entities in ``scope``; bare paths are read from ``default``."""
    return predicate(expr, default)(scope)


def predicate(expr: Expr, default: str = "profile") -> Predicate:
    """The condition as a function of the scope, compiled once per tree (keep the tree alive to keep the cache)."""
    key = (id(expr), default)
    entry = _compiled.get(key)
    if entry is not None and entry[0] is expr:
        return entry[1]
    compiled = _compile(expr, default)
    if len(_compiled) >= _MAX_CACHE:
        _compiled.clear()
    _compiled[key] = (expr, compiled)
    return compiled


def _compile(expr: Expr, default: str) -> Predicate:
    match expr:
        case And(items=items):
            return _all(tuple(_compile(item, default) for item in items))
        case Or(items=items):
            return _any(tuple(_compile(item, default) for item in items))
        case Not(item=item):
            inner = _compile(item, default)
            return lambda scope: not inner(scope)
    return _condition(expr, default)


def _condition(expr: Expr, default: str) -> Predicate:
    match expr:
        case Compare(op="!=", field=field, right=right):
            equal = _compile(Compare("==", field, right), default)
            return lambda scope: not equal(scope)
        case Compare(op=op, field=field, right=right):
            return _test(field, _TESTS[op], right, default)
        case Between(field=field, low=low, high=high):
            return _test(field, _between, (low, high), default)
        case In(field=field, values=values):
            return _in(_getter(field, default), values)
        case Exists(field=field):
            read = _getter(field, default)
            return lambda scope: _exists(read(scope))
        case Empty(field=field):
            read = _getter(field, default)
            return lambda scope: _empty(read(scope))
        case Contains() | StartsWith() | EndsWith():
            return _test(expr.field, _TEXT_TESTS[type(expr)], expr.right, default)
    raise TypeError(f"not a TQL expression: {expr!r}")


def _all(items: tuple[Predicate, ...]) -> Predicate:
    if len(items) == 2:
        first, second = items
        return lambda scope: first(scope) and second(scope)
    return lambda scope: all(item(scope) for item in items)


def _any(items: tuple[Predicate, ...]) -> Predicate:
    if len(items) == 2:
        first, second = items
        return lambda scope: first(scope) or second(scope)
    return lambda scope: any(item(scope) for item in items)


def _getter(field: Field, default: str) -> Getter:
    entity = field.entity or default
    parts = tuple(field.path.split("."))
    walk = dotpath.walk

    def read(scope: Mapping[str, Any]) -> Any:
        obj = scope.get(entity)
        return MISSING if obj is None else walk(obj, parts)

    return read


def _test(field: Field, test: Test, right: Any, default: str) -> Predicate:
    """``test(value, operand)`` over the field's value, or any element of a list value."""
    read = _getter(field, default)
    if isinstance(right, Field):
        other = _getter(right, default)
        return lambda scope: _holds(test, read(scope), other(scope))
    operand = right.value if isinstance(right, Value) else right

    def holds(scope: Mapping[str, Any]) -> bool:
        value = read(scope)
        if type(value) is list:
            return any(test(item, operand) for item in value)
        return test(value, operand)

    return holds


def _holds(test: Test, value: Any, operand: Any) -> bool:
    if operand is MISSING:
        return False
    if type(value) is list:
        return any(test(item, operand) for item in value)
    return test(value, operand)


def _in(read: Getter, values: tuple[Any, ...]) -> Predicate:
    wanted = tuple(v for v in values if v is not None)
    with_null = len(wanted) < len(values)

    def holds(scope: Mapping[str, Any]) -> bool:
        value = read(scope)
        if with_null and not _exists(value):
            return True
        items = value if type(value) is list else (value,)
        return any(_eq(item, v) for item in items for v in wanted)

    return holds


def _exists(value: Any) -> bool:
    if type(value) is list:
        return any(item is not None for item in value)
    return value is not MISSING and value is not None


def _empty(value: Any) -> bool:
    if not _exists(value):
        return True
    return value == "" or (type(value) is list and "" in value)


# comparisons of one value with one operand


def _pair(value: Any, operand: Any) -> tuple[Any, Any] | None:
    """The two as comparable values of one type (the operand's), or None when they are not comparable."""
    kind = type(operand)
    if kind is str:
        if type(value) is str:
            return value, operand
        return (_iso(value), operand) if isinstance(value, datetime) else None
    if kind in _NUMBERS:
        return (value, operand) if type(value) in _NUMBERS else None
    if isinstance(operand, date):
        time = _time(value)
        return None if time is None else (time, _utc(operand))
    return None


def _eq(value: Any, operand: Any) -> bool:
    if operand is None:
        return value is None or value is MISSING
    if type(operand) is bool or type(value) is bool:
        return value is operand
    pair = _pair(value, operand)
    return pair is not None and pair[0] == pair[1]


def _gt(value: Any, operand: Any) -> bool:
    pair = _pair(value, operand)
    return pair is not None and pair[0] > pair[1]


def _ge(value: Any, operand: Any) -> bool:
    pair = _pair(value, operand)
    return pair is not None and pair[0] >= pair[1]


def _lt(value: Any, operand: Any) -> bool:
    pair = _pair(value, operand)
    return pair is not None and pair[0] < pair[1]


def _le(value: Any, operand: Any) -> bool:
    pair = _pair(value, operand)
    return pair is not None and pair[0] <= pair[1]


def _between(value: Any, bounds: tuple[Any, Any]) -> bool:
    return _ge(value, bounds[0]) and _le(value, bounds[1])


def _contains(value: Any, operand: Any) -> bool:
    if type(operand) is str:
        text = _text(value)
        return text is not None and operand in text
    return _eq(value, operand)


def _starts(value: Any, operand: Any) -> bool:
    text = _text(value)
    return text is not None and type(operand) is str and text.startswith(operand)


def _ends(value: Any, operand: Any) -> bool:
    text = _text(value)
    return text is not None and type(operand) is str and text.endswith(operand)


_TESTS: Final[dict[str, Test]] = {"==": _eq, ">": _gt, ">=": _ge, "<": _lt, "<=": _le}
_TEXT_TESTS: Final[dict[type, Test]] = {Contains: _contains, StartsWith: _starts, EndsWith: _ends}


def _text(value: Any) -> str | None:
    if type(value) is str:
        return value
    return _iso(value) if isinstance(value, datetime) else None


def _iso(value: datetime) -> str:
    """The text of a time as a stored document holds it (msgspec's ISO 8601)."""
    return msgspec.json.encode(value)[1:-1].decode()


def _time(value: Any) -> datetime | None:
    """A value read as an aware time: a datetime, a date (midnight UTC) or an ISO string; None otherwise."""
    if isinstance(value, date):
        return _utc(value)
    if type(value) is str:
        try:
            return _utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _utc(value: date) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
