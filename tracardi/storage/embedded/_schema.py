"""The versioned schema, created and upgraded only by ``migrate()`` (run in the writer's transaction).

``schema_version`` has one row per component: ``core`` (the shared tables; its version counts the steps of
``_CORE_STEPS`` applied) and ``index:<name>`` per index (``version`` is the layout version ``INDEX_LAYOUT`` and
``spec`` the declared fields and multi fields as JSON). An index whose row matches its declaration is current
and usable; any other index must be migrated first, and ``migrate()`` brings it to its declaration: it creates
the table, adds the columns of new fields and fills them from the JSON (in one pass; every column when the
layout changed), drops the columns and indexes of fields no longer declared (and layout 1's expression
indexes), creates the missing indexes, and rebuilds the multi-value rows when ``multi`` or the layout changed.
The triggers are recreated each time. Adding an Index later only adds its table and row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from tracardi.storage.embedded._sql import (
    MULTI_TABLE,
    SCHEMA_TABLE,
    IndexTable,
    field_column,
    json_path,
    multi_column,
    sql_literal,
)
from tracardi.storage.errors import StorageError

CORE = "core"
INDEX_LAYOUT = 2  # 1: expression indexes over the JSON; 2: a column per declared field, filled by the writer

_CORE_STEPS: tuple[tuple[str, ...], ...] = (
    # 1: the shared side table of list-valued fields, one row per (index, field, element, document).
    (
        f"CREATE TABLE {MULTI_TABLE} (idx TEXT NOT NULL, field TEXT NOT NULL, value NOT NULL, "
        "doc_id TEXT NOT NULL, PRIMARY KEY (idx, field, value, doc_id)) WITHOUT ROWID",
        f"CREATE INDEX {MULTI_TABLE}_by_doc ON {MULTI_TABLE} (idx, doc_id)",
    ),
)

Applied = dict[str, tuple[int, str]]


def applied(cur: sqlite3.Cursor) -> Applied:
    """What the file records: component name -> (version, spec); empty for a new file."""
    found = cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_TABLE,)).fetchone()
    if found is None:
        return {}
    rows = cur.execute(f"SELECT name, version, spec FROM {SCHEMA_TABLE}").fetchall()
    return {name: (version, spec) for name, version, spec in rows}


def current(tables: Iterable[IndexTable], rows: Applied) -> set[str]:
    """The names of the indices whose recorded schema matches their declaration."""
    if rows.get(CORE, (0, ""))[0] != len(_CORE_STEPS):
        return set()
    return {t.name for t in tables if rows.get(_key(t)) == (INDEX_LAYOUT, t.spec)}


def migrate(cur: sqlite3.Cursor, tables: Iterable[IndexTable]) -> set[str]:
    """Bring the file to the declared schema; idempotent. Returns the names of the migrated indices."""
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (name TEXT PRIMARY KEY, version INTEGER NOT NULL, "
        "spec TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    rows = applied(cur)
    _migrate_core(cur, rows.get(CORE, (0, ""))[0])
    names = set()
    for table in tables:
        _migrate_index(cur, table, rows.get(_key(table)))
        names.add(table.name)
    return names


def _key(table: IndexTable) -> str:
    return f"index:{table.name}"


def _record(cur: sqlite3.Cursor, name: str, version: int, spec: str) -> None:
    cur.execute(
        f"INSERT INTO {SCHEMA_TABLE} (name, version, spec, applied_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version, spec = excluded.spec, "
        "applied_at = excluded.applied_at",
        (name, version, spec, datetime.now(UTC).isoformat()),
    )


def _migrate_core(cur: sqlite3.Cursor, version: int) -> None:
    if version > len(_CORE_STEPS):
        raise StorageError(f"the database schema (core v{version}) is newer than this code (v{len(_CORE_STEPS)})")
    if version == len(_CORE_STEPS):
        return
    for step in _CORE_STEPS[version:]:
        for statement in step:
            cur.execute(statement)
    _record(cur, CORE, len(_CORE_STEPS), "")


def _migrate_index(cur: sqlite3.Cursor, table: IndexTable, row: tuple[int, str] | None) -> None:
    if row == (INDEX_LAYOUT, table.spec):
        return
    if row is not None and row[0] > INDEX_LAYOUT:
        raise StorageError(f"the table of index {table.name!r} (layout v{row[0]}) is newer than this code")
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {table.table} (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)"
    )
    recorded = msgspec.json.decode(row[1]) if row is not None else {"fields": [], "multi": []}
    same_layout = row is not None and row[0] == INDEX_LAYOUT
    # Columns that writes have kept up to date; every other declared column is filled from the JSON.
    kept = {field_column(f) for f in recorded["fields"]} | {multi_column(f) for f in recorded["multi"]}
    _drop_triggers(cur, table)
    indexes = _drop_stale_indexes(cur, table)
    _sync_columns(cur, table, kept if same_layout else set())
    for sql in indexes.values():
        cur.execute(sql)
    rebuild = not same_layout or sorted(recorded["multi"]) != sorted(table.multi)
    _sync_multi(cur, table, rebuild=rebuild)
    _record(cur, _key(table), INDEX_LAYOUT, table.spec)


def _drop_triggers(cur: sqlite3.Cursor, table: IndexTable) -> None:
    found = cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table.base,))
    for (name,) in found.fetchall():
        if name.startswith(f"{table.base}__multi_"):
            cur.execute(f'DROP TRIGGER "{name}"')


def _drop_stale_indexes(cur: sqlite3.Cursor, table: IndexTable) -> dict[str, str]:
    """Drop the field indexes not declared or not as declared (layout 1's expression indexes); the ones to create."""
    # The id column makes an index serve ``ORDER BY field, id`` (our sort with its tie-breaker) too.
    wanted = {
        table.index_name(field): f'CREATE INDEX "{table.index_name(field)}" ON {table.table} ("{column}", id)'
        for field, column in table.field_columns
    }
    have = cur.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE 'ix\\_%' ESCAPE '\\'",
        (table.base,),
    ).fetchall()
    for name, sql in sorted(have):
        if wanted.get(name) == sql:
            del wanted[name]
        else:
            cur.execute(f'DROP INDEX "{name}"')
    return wanted


def _sync_columns(cur: sqlite3.Cursor, table: IndexTable, kept: set[str]) -> None:
    """Drop the columns of fields no longer declared, add the new ones, fill those not kept from the JSON."""
    wanted = {column: f"json_extract(doc, {json_path(field)})" for field, column in table.field_columns}
    wanted |= {column: f"NULLIF(doc -> {json_path(field)}, 'null')" for field, column in table.multi_columns}
    have = {name for (name,) in cur.execute("SELECT name FROM pragma_table_info(?)", (table.base,)).fetchall()}
    for name in sorted(have - wanted.keys()):
        if name.startswith(("f_", "m_")):
            cur.execute(f'ALTER TABLE {table.table} DROP COLUMN "{name}"')
    for name in sorted(wanted.keys() - have):
        cur.execute(f'ALTER TABLE {table.table} ADD COLUMN "{name}"')
    fill = sorted(name for name in wanted if name not in have or name not in kept)
    if fill:
        # One pass over the table: SQLite parses each document once here, never again on a write.
        cur.execute(f"UPDATE {table.table} SET " + ", ".join(f'"{name}" = {wanted[name]}' for name in fill))


def _sync_multi(cur: sqlite3.Cursor, table: IndexTable, *, rebuild: bool) -> None:
    """Triggers keep ``multi_values`` exact on every insert, update and delete, from the list fields' columns."""
    if rebuild:
        cur.execute(f"DELETE FROM {MULTI_TABLE} WHERE idx = ?", (table.name,))
        for field, column in table.multi_columns:
            cur.execute(_multi_insert(table, field, "t.id") + f" FROM {table.table} AS t, " + _each(column, "t"))
    if not table.multi:
        return
    t, base = table.table, table.base
    inserts = {
        field: _multi_insert(table, field, "NEW.id") + " FROM " + _each(column, "NEW") + "; "
        for field, column in table.multi_columns
    }
    cur.execute(f'CREATE TRIGGER "{base}__multi_ins" AFTER INSERT ON {t} BEGIN {"".join(inserts.values())}END')
    # Most updates (a profile's visit count) leave the lists alone: comparing their short texts is all they cost.
    for field, column in table.multi_columns:
        forget = (
            f"DELETE FROM {MULTI_TABLE} WHERE idx = {sql_literal(table.name)} AND field = {sql_literal(field)} "
            "AND doc_id = OLD.id; "
        )
        cur.execute(
            f'CREATE TRIGGER "{base}__multi_upd_{column}" AFTER UPDATE OF "{column}" ON {t} '
            f'WHEN OLD."{column}" IS NOT NEW."{column}" BEGIN {forget}{inserts[field]}END'
        )
    forget_all = f"DELETE FROM {MULTI_TABLE} WHERE idx = {sql_literal(table.name)} AND doc_id = OLD.id; "
    cur.execute(f'CREATE TRIGGER "{base}__multi_del" AFTER DELETE ON {t} BEGIN {forget_all}END')


def _multi_insert(table: IndexTable, field: str, doc_id: str) -> str:
    return (
        f"INSERT OR IGNORE INTO {MULTI_TABLE} (idx, field, value, doc_id) "
        f"SELECT {sql_literal(table.name)}, {sql_literal(field)}, e.value, {doc_id}"
    )


def _each(column: str, source: str) -> str:
    # Elements of a list (or a lone scalar, which counts as a one-element list); never nulls, nested lists,
    # objects, or an object's members (those have a text key).
    return (
        f'json_each({source}."{column}") AS e '
        "WHERE e.type NOT IN ('null', 'object', 'array') AND typeof(e.key) != 'text'"
    )
