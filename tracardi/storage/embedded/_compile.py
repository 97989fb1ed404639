"""Compile a query condition (``tracardi.domain.query``) into a SQL predicate over one index table.

The table is aliased ``d``. How a field is read depends on its declaration:

- ``Index.fields``: scalar; its column (which holds ``json_extract(d.doc, path)``), indexed, so SQLite uses it.
- ``Index.multi``: a list; matched through the ``multi_values`` side table (any element matches).
- anything else: read on the fly; an array matches when any element matches (``json_each``), an object never.

Values are always bound parameters. Booleans compare as 1/0 (JSON true/false as SQLite reads them).
Datetimes must be timezone-aware and compare as the ISO-8601 UTC strings msgspec writes
(``2024-05-01T10:00:00Z``, microseconds as ``.123456`` when not zero); documents should hold UTC times. A
string comparison puts a whole-second time after the fractional times of the same second. Strings holding
U+0000 round-trip but cannot be matched, except in a declared field: SQLite 3.40's JSON functions cut them at
the NUL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import msgspec

from tracardi.domain.query import And, Condition, Eq, Exists, In, Not, Or, Prefix, Range, Substring, Suffix
from tracardi.storage.embedded._sql import MULTI_TABLE, IndexTable, json_path
from tracardi.storage.errors import InvalidQuery

_MAX_DEPTH = 32
_MAX_INLINE = 64  # longer In lists travel as one JSON array parameter
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def compile_where(table: IndexTable, where: Condition | None) -> tuple[str, list[Any]]:
    """The SQL predicate and its parameters; ``1`` for no condition."""
    if where is None:
        return "1", []
    params: list[Any] = []
    return _node(table, where, params, 0), params


def to_param(value: object) -> str | int | float:
    """A query value as the SQLite value it compares as; InvalidQuery for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidQuery(f"integer out of range: {value}")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidQuery(f"not a finite number: {value}")
        return value
    if isinstance(value, str):
        return str(value)
    return _text_param(value)


def _text_param(value: object) -> str:
    """Times, dates and UUIDs as the strings msgspec writes for them."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidQuery(f"naive datetime in a query (times are UTC and timezone-aware): {value!r}")
        return msgspec.json.encode(value.astimezone(UTC))[1:-1].decode()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise InvalidQuery(f"unsupported query value of type {type(value).__name__}: {value!r}")


def _node(table: IndexTable, cond: Condition, params: list[Any], depth: int) -> str:
    if depth > _MAX_DEPTH:
        raise InvalidQuery(f"condition nested deeper than {_MAX_DEPTH}")
    match cond:
        case Eq(field=field, value=value):
            return _eq(table, field, value, params)
        case In(field=field, values=values):
            return _in(table, field, values, params)
        case Range():
            return _range(table, cond, params)
        case Exists(field=field):
            return _exists(table, field, params)
        case Prefix() | Suffix() | Substring():
            return _text(table, cond, params)
        case And(items=items):
            return _junction(table, items, " AND ", "1", params, depth)
        case Or(items=items):
            return _junction(table, items, " OR ", "0", params, depth)
        case Not(item=item):
            # A missing field makes a comparison NULL; NOT must read that as "did not match", so it matches.
            return f"NOT COALESCE({_node(table, item, params, depth + 1)}, 0)"
    raise InvalidQuery(f"not a condition: {cond!r}")


def _junction(
    table: IndexTable, items: Sequence[Condition], joiner: str, empty: str, params: list[Any], depth: int
) -> str:
    if not isinstance(items, tuple | list):
        raise InvalidQuery(f"condition items must be a tuple: {items!r}")
    if not items:
        return empty
    return "(" + joiner.join(_node(table, item, params, depth + 1) for item in items) + ")"


def _match(table: IndexTable, field: str, template: str, values: Sequence[Any], params: list[Any]) -> str:
    """``template`` (a predicate over ``{x}``) applied to the field as its declaration says to read it."""
    path = json_path(field)
    if field in table.multi:
        params.extend((table.name, field, *values))
        return (
            f"d.id IN (SELECT doc_id FROM {MULTI_TABLE} WHERE idx = ? AND field = ? AND {template.format(x='value')})"
        )
    column = table.columns.get(field)
    if column is not None:
        params.extend(values)
        return template.format(x=column)
    scalar = f"json_extract(d.doc, {path})"
    params.extend(values)
    params.extend(values)
    return (
        f"CASE json_type(d.doc, {path}) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(d.doc, {path}) AS e "
        f"WHERE e.type NOT IN ('object', 'array') AND {template.format(x='e.value')}) "
        f"WHEN 'object' THEN 0 ELSE {template.format(x=scalar)} END"
    )


def field_between(table: IndexTable, field: str, low: str, high: str, params: list[Any]) -> str:
    """The field (any element of a list) is ``>= low`` and ``< high``, two SQL expressions (e.g. joined columns)."""
    json_path(field)
    return _match(table, field, f"{{x}} >= {low} AND {{x}} < {high}", (), params)


def _eq(table: IndexTable, field: str, value: object, params: list[Any]) -> str:
    if value is None:
        return f"NOT COALESCE({_exists(table, field, params)}, 0)"
    return _match(table, field, "{x} = ?", (to_param(value),), params)


def _in(table: IndexTable, field: str, values: Sequence[object], params: list[Any]) -> str:
    if not isinstance(values, tuple | list):
        raise InvalidQuery(f"In values must be a tuple: {values!r}")
    bound = [to_param(value) for value in values if value is not None]
    parts = []
    if len(bound) > _MAX_INLINE:
        parts.append(_match(table, field, "{x} IN (SELECT value FROM json_each(?))", (_json(bound),), params))
    elif bound:
        parts.append(_match(table, field, "{x} IN (" + ", ".join("?" * len(bound)) + ")", bound, params))
    if len(bound) < len(values):
        parts.append(_eq(table, field, None, params))
    return "(" + " OR ".join(parts) + ")" if parts else "0"


def _range(table: IndexTable, cond: Range, params: list[Any]) -> str:
    bounds = ((">", cond.gt), (">=", cond.gte), ("<", cond.lt), ("<=", cond.lte))
    given = [(op, _range_param(value)) for op, value in bounds if value is not None]
    if not given:
        return _exists(table, cond.field, params)
    numeric = {isinstance(value, int | float) for _, value in given}
    if len(numeric) > 1:
        raise InvalidQuery(f"range on {cond.field!r} mixes numbers with strings or times")
    # SQLite orders numbers before all text, so an open end is closed at the text boundary '' to keep the
    # range inside one type, in a form the field's index can still serve.
    if numeric == {True} and not any(op[0] == "<" for op, _ in given):
        given.append(("<", ""))
    if numeric == {False} and not any(op[0] == ">" for op, _ in given):
        given.append((">=", ""))
    template = " AND ".join(f"{{x}} {op} ?" for op, _ in given)
    return _match(table, cond.field, template, [value for _, value in given], params)


def _range_param(value: object) -> str | int | float:
    if isinstance(value, bool):
        raise InvalidQuery(f"a range bound cannot be a boolean: {value!r}")
    return to_param(value)


def _text(table: IndexTable, cond: Prefix | Suffix | Substring, params: list[Any]) -> str:
    """Prefix, suffix and substring tests on text values (a number is never text here, unlike SQLite's casts)."""
    text = cond.value
    if not isinstance(text, str):
        raise InvalidQuery(f"{type(cond).__name__.lower()} of {cond.field!r} needs a string: {text!r}")
    if isinstance(cond, Prefix):
        # a range from the prefix to its successor: text only (numbers sort before text), and index-friendly
        upper = _successor(text)
        if upper is None:
            return _match(table, cond.field, "{x} >= ?", (text,), params)
        return _match(table, cond.field, "{x} >= ? AND {x} < ?", (text, upper), params)
    if isinstance(cond, Suffix):
        if not text:
            return _match(table, cond.field, "typeof({x}) = 'text'", (), params)
        template = f"typeof({{x}}) = 'text' AND substr({{x}}, -{len(text)}) = ?"
        return _match(table, cond.field, template, (text,), params)
    return _match(table, cond.field, "typeof({x}) = 'text' AND instr({x}, ?) > 0", (text,), params)


def _successor(text: str) -> str | None:
    """The least string above every string that starts with ``text`` (None: no such string)."""
    while text:
        last = ord(text[-1]) + 1
        last = 0xE000 if last == 0xD800 else last  # skip the surrogates, which UTF-8 cannot hold
        if last <= 0x10FFFF:
            return text[:-1] + chr(last)
        text = text[:-1]
    return None


def _exists(table: IndexTable, field: str, params: list[Any]) -> str:
    path = json_path(field)
    if field in table.multi:
        params.extend((table.name, field))
        return f"d.id IN (SELECT doc_id FROM {MULTI_TABLE} WHERE idx = ? AND field = ?)"
    column = table.columns.get(field)
    if column is not None:
        return f"{column} IS NOT NULL"
    # Present and not null; a list exists when it holds a non-null element (an empty list does not).
    return (
        f"CASE json_type(d.doc, {path}) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(d.doc, {path}) AS e "
        f"WHERE e.type != 'null') WHEN 'null' THEN 0 ELSE json_type(d.doc, {path}) IS NOT NULL END"
    )


def _json(values: list[str | int | float]) -> str:
    return msgspec.json.encode(values).decode()
