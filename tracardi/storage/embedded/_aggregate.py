"""Terms and date-histogram aggregations as SQL over one index table (see ``tracardi.storage.aggregations``).

A declared field groups by its column (indexed), a list field by its ``multi_values`` rows, any other path by
``json_each`` over the stored JSON (a scalar gives one row, a list one per element; objects are skipped).
A histogram joins the interval bounds, given as one JSON parameter, to the table, so a declared time field
is read by index ranges.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import msgspec

from tracardi.domain.query import Condition
from tracardi.storage.aggregations import Span, TermBucket, term_key
from tracardi.storage.embedded._compile import compile_where, field_between
from tracardi.storage.embedded._sql import MULTI_TABLE, IndexTable, json_path


def terms_sql(table: IndexTable, field: str, where: Condition | None, size: int) -> tuple[str, list[Any]]:
    """The statement counting matches per value of ``field``, most frequent first, then by value."""
    path = json_path(field)
    where_sql, params = compile_where(table, where)
    tail = "GROUP BY k ORDER BY c DESC, k LIMIT ?"
    if field in table.multi:
        sql = (
            f"SELECT m.value AS k, count(DISTINCT m.doc_id) AS c FROM {MULTI_TABLE} AS m "
            f"WHERE m.idx = ? AND m.field = ? AND m.doc_id IN (SELECT d.id FROM {table.table} AS d WHERE {where_sql}) "
        )
        return sql + tail, [table.name, field, *params, size]
    column = table.columns.get(field)
    if column is not None:
        sql = (
            f"SELECT {column} AS k, count(*) AS c FROM {table.table} AS d WHERE {column} IS NOT NULL AND ({where_sql}) "
        )
        return sql + tail, [*params, size]
    sql = (
        f"SELECT e.value AS k, count(DISTINCT d.id) AS c FROM {table.table} AS d, json_each(d.doc, {path}) AS e "
        f"WHERE json_type(d.doc, {path}) != 'object' AND e.type NOT IN ('object', 'array', 'null') AND ({where_sql}) "
    )
    return sql + tail, [*params, size]


def histogram_sql(
    table: IndexTable, field: str, where: Condition | None, spans: Sequence[Span]
) -> tuple[str, list[Any]]:
    """The statement counting matches per interval, one row per interval in order (empty ones as 0)."""
    params: list[Any] = [msgspec.json.encode([[span.low, span.high] for span in spans]).decode()]
    within = field_between(table, field, "b.lo", "b.hi", params)
    where_sql, where_params = compile_where(table, where)
    params.extend(where_params)
    sql = (
        "WITH b(i, lo, hi) AS (SELECT CAST(key AS INTEGER), json_extract(value, '$[0]'), json_extract(value, '$[1]') "
        "FROM json_each(?)) "
        f"SELECT b.i, count(d.id) FROM b LEFT JOIN {table.table} AS d ON {within} AND ({where_sql}) "
        "GROUP BY b.i ORDER BY b.i"
    )
    return sql, params


def read_terms(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[TermBucket]:
    """Run a terms statement (on a reader connection)."""
    return [TermBucket(term_key(key), int(count)) for key, count in conn.execute(sql, params).fetchall()]


def read_counts(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[int]:
    """Run a histogram statement (on a reader connection): the count of each interval, in order."""
    return [int(count) for _, count in conn.execute(sql, params).fetchall()]
