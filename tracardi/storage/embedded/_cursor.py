"""Sort order and ``search_after``-style cursors.

Rows are ordered by the sort fields (``json_extract`` values, read from their columns for declared fields; missing
and null last, ascending or descending), then by document id in the direction of the last sort field (ascending
without sort fields), so the order is total. A cursor is the base64url of the JSON ``[tag, [sort values...], id]``
of the last row of a page, where ``tag`` is a checksum of the sort it belongs to; the next page is the rows
strictly after that row in the same order, which is stable under concurrent writes: no row is returned twice, and
none present throughout is missed.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from tracardi.domain.query import Sort
from tracardi.storage.embedded._sql import IndexTable, json_path
from tracardi.storage.errors import InvalidQuery

_Cursor = tuple[int, list[str | int | float | None], str]


@dataclass(frozen=True, slots=True)
class SortPlan:
    """The SQL of one sort: its key expressions with their direction, and the cursor tag."""

    keys: tuple[tuple[str, bool], ...]
    id_desc: bool
    tag: int

    def columns(self) -> str:
        """The sort key columns to select after ``id, version, doc``."""
        return "".join(f", {expr}" for expr, _ in self.keys)

    def order_by(self) -> str:
        """The ORDER BY list, ending with the id tie-breaker."""
        parts = [f"{expr} {'DESC' if desc else 'ASC'} NULLS LAST" for expr, desc in self.keys]
        parts.append("d.id DESC" if self.id_desc else "d.id ASC")
        return ", ".join(parts)


def plan_sort(table: IndexTable, sort: Sequence[Sort]) -> SortPlan:
    """Validate the sort fields and build their SQL."""
    keys = []
    for item in sort:
        if not isinstance(item, Sort):
            raise InvalidQuery(f"not a Sort: {item!r}")
        path = json_path(item.field)
        keys.append((table.columns.get(item.field) or f"json_extract(d.doc, {path})", bool(item.desc)))
    id_desc = keys[-1][1] if keys else False
    spec = ";".join(f"{item.field}:{int(bool(item.desc))}" for item in sort)
    return SortPlan(tuple(keys), id_desc, zlib.crc32(spec.encode()))


def encode_cursor(plan: SortPlan, values: Sequence[Any], doc_id: str) -> str:
    """The opaque cursor of the row with these sort values and id."""
    raw = msgspec.json.encode((plan.tag, list(values), doc_id))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(plan: SortPlan, cursor: str) -> tuple[list[Any], str]:
    """The sort values and id a cursor points after; InvalidQuery if it is not one of this sort's cursors."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, values, doc_id = msgspec.json.decode(raw, type=_Cursor)
    except (binascii.Error, ValueError, TypeError, msgspec.DecodeError) as exc:
        raise InvalidQuery(f"malformed cursor: {cursor!r}") from exc
    if tag != plan.tag or len(values) != len(plan.keys):
        raise InvalidQuery("the cursor belongs to another sort")
    return values, doc_id


def after_clause(plan: SortPlan, values: Sequence[Any], doc_id: str, params: list[Any]) -> str:
    """A predicate true for the rows that come strictly after (values, id) in the plan's order."""
    alternatives = []
    same: list[str] = []
    same_params: list[Any] = []
    for (expr, desc), value in zip(plan.keys, values, strict=True):
        if value is not None:  # nothing sorts after a null except by the later keys: nulls are last
            alternatives.append(" AND ".join([*same, f"({expr} {'<' if desc else '>'} ? OR {expr} IS NULL)"]))
            params.extend((*same_params, value))
            same_params.append(value)
        same.append(f"{expr} IS NULL" if value is None else f"{expr} = ?")
    alternatives.append(" AND ".join([*same, f"d.id {'<' if plan.id_desc else '>'} ?"]))
    params.extend((*same_params, doc_id))
    return "(" + " OR ".join(f"({alt})" for alt in alternatives) + ")"
