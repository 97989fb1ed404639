"""Evaluate a TQL syntax tree against a scope of entities, by compiling it once to nested closures.

Semantics, the same as the stored-document search (``to_query``) wherever a condition can be a query:

- A missing path, or a path crossing a value that has no such key, reads as missing. Missing and null satisfy only
  ``NOT EXISTS``, ``EMPTY``, ``== null``, ``!=`` and ``NOT``/``NOT IN``/... of another condition. ``== null``
  means "does not exist" (a list exists when it holds a non-null element).
- A list value satisfies a comparison when any of its elements does (as in OpenSearch): ``segments == "vip"``.
- Values compare only with values of their own type: numbers with numbers (booleans are not numbers), strings with
  strings, booleans by equality only. Anything else is false, never an error; so is a BETWEEN whose bounds
  have two types.
- A date/datetime literal reads the value as a time: a ``datetime`` as is, an ISO string by parsing it (an
  unparsable string is not a time); naive times are UTC. A string literal compared with a ``datetime`` value
  compares with its ISO text, as stored documents hold it.
- ``CONTAINS "text"`` is substring on strings, equality on other values; ``STARTS WITH``/``ENDS WITH`` apply to
  strings only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
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
    order_of,
)

Predicate = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]
Check = Callable[[Any], bool]  # one value (or one list element) -> holds
CheckFactory = Callable[[Any], Check]  # operand -> its check

MISSING: Final = dotpath.MISSING
_MAX_CACHE: Final = 2048
_MAX_CACHED_NODES: Final = 200
_compiled: dict[tuple[int, str], tuple[Expr, Predicate]] = {}


def evaluate(expr: Expr, scope: Mapping[str, Any], default: str = "profile") -> bool:
    """Whether the condition holds for the entities in ``scope``; bare paths are read from ``default``."""
    return predicate(expr, default)(scope)


def predicate(expr: Expr, default: str = "profile") -> Predicate:
    """The condition as a function of the scope, compiled once per tree (``parse`` returns the same tree for the
    same text). Trees of more than ``_MAX_CACHED_NODES`` nodes are compiled at each call instead of cached, so
    the cache stays small whatever conditions come."""
    key = (id(expr), default)
    entry = _compiled.get(key)
    if entry is not None and entry[0] is expr:
        return entry[1]
    compiled = _compile(expr, default)
    if _size(expr) <= _MAX_CACHED_NODES:
        if len(_compiled) >= _MAX_CACHE:
            _compiled.clear()
        _compiled[key] = (expr, compiled)
    return compiled


def _size(expr: Expr) -> int:
    match expr:
        case And(items=items) | Or(items=items):
            return 1 + sum(_size(item) for item in items)
        case Not(item=item):
            return 1 + _size(item)
    return 1


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
        case Compare(op="==", field=field, right=Value(value=None)):
            read = _getter(field, default)  # null is "does not exist", not a value a list element could equal
            return lambda scope: not _exists(read(scope))
        case Compare(op="!=", field=field, right=right):
            equal = _compile(Compare("==", field, right), default)
            return lambda scope: not equal(scope)
        case Compare(op=op, field=field, right=right):
            return _test(field, _CHECKS[op], right, default)
        case Between(field=field, low=low, high=high):
            return _test(field, _between, Value((low, high)), default)  # the bounds as one operand
        case In(field=field, values=values):
            return _in(_getter(field, default), values)
        case Exists(field=field):
            read = _getter(field, default)
            return lambda scope: _exists(read(scope))
        case Empty(field=field):
            read = _getter(field, default)
            return lambda scope: _empty(read(scope))
        case Contains() | StartsWith() | EndsWith():
            return _test(expr.field, _CHECKS[type(expr).__name__], expr.right, default)
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


def _test(field: Field, make: CheckFactory, right: Value | Field, default: str) -> Predicate:
    """The check ``make(operand)`` over the field's value, or any element of a list value."""
    read = _getter(field, default)
    if isinstance(right, Field):
        other = _getter(right, default)
        return lambda scope: _holds(make, read(scope), other(scope))
    check = make(right.value)
    if check is _never:
        return _never

    def holds(scope: Mapping[str, Any]) -> bool:
        value = read(scope)
        if type(value) is list:
            return any(check(item) for item in value)
        return check(value)

    return holds


def _holds(make: CheckFactory, value: Any, operand: Any) -> bool:
    """Field against field: the check is built per call, from the other field's value."""
    if operand is MISSING or type(operand) is list:
        return False
    check = make(operand)
    if type(value) is list:
        return any(check(item) for item in value)
    return check(value)


def _in(read: Getter, values: tuple[Any, ...]) -> Predicate:
    checks = tuple(_eq(v) for v in values if v is not None)
    with_null = len(checks) < len(values)

    def holds(scope: Mapping[str, Any]) -> bool:
        value = read(scope)
        if with_null and not _exists(value):
            return True
        items = value if type(value) is list else (value,)
        return any(check(item) for item in items for check in checks)

    return holds


def _exists(value: Any) -> bool:
    if type(value) is list:
        return any(item is not None for item in value)
    return value is not MISSING and value is not None


def _empty(value: Any) -> bool:
    if not _exists(value):
        return True
    return value == "" or (type(value) is list and "" in value)


# checks of one value against one operand: built once per operand, typed by it


def _never(value: Any) -> bool:
    return False


def _eq(operand: Any) -> Check:
    if operand is None:
        return lambda value: value is None or value is MISSING
    if type(operand) is bool:
        return lambda value: value is operand
    return _ordered(operator.eq, operand)


def _ordered(compare: Callable[[Any, Any], bool], operand: Any) -> Check:
    """``compare(value, operand)`` for values of the operand's type (a str operand also reads times as text)."""
    kind = type(operand)
    if kind is str:

        def text(value: Any) -> bool:
            if type(value) is str:
                return compare(value, operand)
            return isinstance(value, datetime) and compare(_iso(value), operand)

        return text
    if kind is int or kind is float:
        return lambda value: (type(value) is int or type(value) is float) and compare(value, operand)
    if isinstance(operand, date):
        moment = _utc(operand)

        def time(value: Any) -> bool:
            read = _time(value)
            return read is not None and compare(read, moment)

        return time
    return _never


def _between(bounds: tuple[Any, Any]) -> Check:
    low, high = bounds
    if order_of(low) is None or order_of(low) != order_of(high):
        return _never
    above, below = _ordered(operator.ge, low), _ordered(operator.le, high)
    return lambda value: above(value) and below(value)


def _contains(operand: Any) -> Check:
    if type(operand) is not str:
        return _eq(operand)
    return _textual(lambda text: operand in text)


def _starts(operand: Any) -> Check:
    return _textual(lambda text: text.startswith(operand)) if type(operand) is str else _never


def _ends(operand: Any) -> Check:
    return _textual(lambda text: text.endswith(operand)) if type(operand) is str else _never


def _textual(test: Callable[[str], bool]) -> Check:
    def check(value: Any) -> bool:
        if type(value) is str:
            return test(value)
        return isinstance(value, datetime) and test(_iso(value))

    return check


_CHECKS: Final[dict[str, CheckFactory]] = {
    "==": _eq,
    ">": partial(_ordered, operator.gt),
    ">=": partial(_ordered, operator.ge),
    "<": partial(_ordered, operator.lt),
    "<=": partial(_ordered, operator.le),
    "Contains": _contains,
    "StartsWith": _starts,
    "EndsWith": _ends,
}


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
