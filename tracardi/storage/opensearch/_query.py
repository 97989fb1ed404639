"""Compile a query condition (``tracardi.domain.query``) into the OpenSearch query DSL, and sorts with cursors.

Every field is matched through the ``_q.k`` keys (see ``_encode``): ``<path>\x00<ordered key>`` terms, ranges
within one path and type, and a prefix for existence. Sorting is a nested sort on the ``_q.s`` pairs filtered to the
path (only sortable paths: see ``_encode``), missing values last in both directions,
ties broken by ``_q.id`` in the direction of the last sort field. A cursor is the base64url of the JSON
``[tag, sort values, id]`` of a page's last hit; ``tag`` ties it to the sort it came from.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Sequence
from typing import Any

import msgspec

from tracardi.domain.query import And, Condition, Eq, Exists, In, Not, Or, Prefix, Range, Sort, Substring, Suffix
from tracardi.storage.errors import InvalidQuery
from tracardi.storage.opensearch._encode import ID, KEYS, SEP, SORT, SORT_KEY, SORT_PATH, check_field, query_key

_MAX_DEPTH = 32
_WILDCARD = re.compile(r"[\\*?]")  # what a wildcard pattern must escape
MATCH_ALL: dict[str, Any] = {"match_all": {}}
MATCH_NONE: dict[str, Any] = {"bool": {"must_not": [{"match_all": {}}]}}
_Cursor = tuple[int, list[str | None], str]


def compile_where(where: Condition | None) -> dict[str, Any]:
    """The query DSL of a condition; match_all for none."""
    return MATCH_ALL if where is None else _node(where, 0)


def _node(cond: Condition, depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise InvalidQuery(f"condition nested deeper than {_MAX_DEPTH}")
    match cond:
        case Eq() | In() | Range() | Exists() | Prefix() | Suffix() | Substring():
            return _leaf(cond)
        case And(items=items):
            return {"bool": {"filter": [_node(i, depth + 1) for i in _items(items)]}} if items else MATCH_ALL
        case Or(items=items):
            if not items:
                return MATCH_NONE
            return {"bool": {"should": [_node(i, depth + 1) for i in _items(items)], "minimum_should_match": 1}}
        case Not(item=item):
            return {"bool": {"must_not": [_node(item, depth + 1)]}}
    raise InvalidQuery(f"not a condition: {cond!r}")


def _leaf(cond: Eq | In | Range | Exists | Prefix | Suffix | Substring) -> dict[str, Any]:
    match cond:
        case Eq(field=field, value=value):
            return _exists(field, negate=True) if value is None else {"term": {KEYS: _key(field, value)}}
        case In(field=field, values=values):
            return _in(field, values)
        case Range():
            return _range(cond)
        case Exists(field=field):
            return _exists(field)
    return _text(cond)


def _items(items: object) -> Sequence[Condition]:
    if not isinstance(items, tuple | list):
        raise InvalidQuery(f"condition items must be a tuple: {items!r}")
    return items


def _key(field: str, value: object) -> str:
    return check_field(field) + SEP + query_key(value)


def _exists(field: str, *, negate: bool = False) -> dict[str, Any]:
    query = {"prefix": {KEYS: check_field(field) + SEP}}
    return {"bool": {"must_not": [query]}} if negate else query


def _text(cond: Prefix | Suffix | Substring) -> dict[str, Any]:
    """Prefix, suffix and substring tests on the string keys (``s`` + the text) of the field."""
    text = cond.value
    if not isinstance(text, str):
        raise InvalidQuery(f"{type(cond).__name__.lower()} of {cond.field!r} needs a string: {text!r}")
    start = check_field(cond.field) + SEP + "s"
    if isinstance(cond, Prefix):
        return {"prefix": {KEYS: start + text}}
    pattern = _WILDCARD.sub(r"\\\g<0>", text)
    pattern = f"{start}*{pattern}" if isinstance(cond, Suffix) else f"{start}*{pattern}*"
    return {"wildcard": {KEYS: {"value": pattern}}}


def _in(field: str, values: object) -> dict[str, Any]:
    if not isinstance(values, tuple | list):
        raise InvalidQuery(f"In values must be a tuple: {values!r}")
    keys = [_key(field, value) for value in values if value is not None]
    parts = [{"terms": {KEYS: keys}}] if keys else []
    if len(keys) < len(values):
        parts.append(_exists(field, negate=True))
    if not parts:
        check_field(field)
        return MATCH_NONE
    return parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}


def _range(cond: Range) -> dict[str, Any]:
    given = {op: value for op, value in (("gt", cond.gt), ("gte", cond.gte), ("lt", cond.lt), ("lte", cond.lte))}
    bounds = {op: _bound(value) for op, value in given.items() if value is not None}
    if not bounds:
        return _exists(cond.field)
    types = {key[0] for key in bounds.values()}
    if len(types) > 1:
        raise InvalidQuery(f"range on {cond.field!r} mixes numbers with strings or times")
    kind = types.pop()
    # Keep the range inside the bounds' type: keys of every type share one keyword field.
    if "gt" not in bounds and "gte" not in bounds:
        bounds["gte"] = kind
    if "lt" not in bounds and "lte" not in bounds:
        bounds["lt"] = chr(ord(kind) + 1)
    prefix = check_field(cond.field) + SEP
    return {"range": {KEYS: {op: prefix + key for op, key in bounds.items()}}}


def _bound(value: object) -> str:
    if isinstance(value, bool):
        raise InvalidQuery(f"a range bound cannot be a boolean: {value!r}")
    return query_key(value)


class SortPlan:
    """The DSL sort of a list of Sorts, with the id tie-breaker and the cursor tag."""

    def __init__(self, sort: Sequence[Sort], sortable: frozenset[str] | None = None) -> None:
        keys: list[dict[str, Any]] = []
        for item in sort:
            if not isinstance(item, Sort):
                raise InvalidQuery(f"not a Sort: {item!r}")
            field = check_field(item.field)
            if sortable is not None and field not in sortable:
                raise InvalidQuery(f"cannot sort on {field!r}: sortable fields are {sorted(sortable)}")
            order = "desc" if item.desc else "asc"
            nested = {"path": SORT, "filter": {"term": {SORT_PATH: field}}}
            keys.append({SORT_KEY: {"order": order, "missing": "_last", "nested": nested}})
        self.size = len(keys)
        id_order = "desc" if sort and sort[-1].desc else "asc"
        keys.append({ID: {"order": id_order}})
        self.dsl = keys
        spec = ";".join(f"{item.field}:{int(bool(item.desc))}" for item in sort)
        self.tag = zlib.crc32(spec.encode())

    def cursor(self, sort_values: Sequence[Any]) -> str:
        """The opaque cursor after a hit with these ``sort`` values (the id last)."""
        values = [None if v is None else str(v) for v in sort_values[: self.size]]
        raw = msgspec.json.encode((self.tag, values, str(sort_values[self.size])))
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def search_after(self, cursor: str) -> list[Any]:
        """The ``search_after`` values of a cursor; InvalidQuery if it is not one of this sort's cursors."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            tag, values, doc_id = msgspec.json.decode(raw, type=_Cursor)
        except (binascii.Error, ValueError, TypeError, msgspec.DecodeError) as exc:
            raise InvalidQuery(f"malformed cursor: {cursor!r}") from exc
        if tag != self.tag or len(values) != self.size:
            raise InvalidQuery("the cursor belongs to another sort")
        return [*values, doc_id]
