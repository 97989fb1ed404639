"""The versioned schema, created and upgraded only by ``migrate()`` (run in the writer's transaction).

``schema_version`` has one row per component: ``core`` (the shared tables; its version counts the steps of
``_CORE_STEPS`` applied) and ``index:<name>`` per index (``version`` is the layout version ``INDEX_LAYOUT`` and
``spec`` the declared fields and multi fields as JSON). An index whose row matches its declaration is current
and usable; any other index must be migrated first, and ``migrate()`` brings it to its declaration: it creates
the table, adds and drops expression indexes, and rebuilds the multi-value rows and triggers when ``multi``
changed. Adding an Index later only adds its table and row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

import msgspec

from tracardi.storage.embedded._sql import MULTI_TABLE, SCHEMA_TABLE, IndexTable, json_path, sql_literal
from tracardi.storage.errors import StorageError

CORE = "core"
INDEX_LAYOUT = 1

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
    _sync_expression_indexes(cur, table)
    old_multi = msgspec.json.decode(row[1])["multi"] if row is not None else []
    _sync_multi(cur, table, rebuild=old_multi != sorted(table.multi))
    _record(cur, _key(table), INDEX_LAYOUT, table.spec)


def _sync_expression_indexes(cur: sqlite3.Cursor, table: IndexTable) -> None:
    wanted = {table.index_name(field): field for field in table.fields}
    have = {
        name
        for (name,) in cur.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE 'ix\\_%' ESCAPE '\\'",
            (table.base,),
        ).fetchall()
    }
    for name in sorted(have - wanted.keys()):
        cur.execute(f'DROP INDEX "{name}"')
    for name, field in wanted.items():
        # The id column makes the index serve ``ORDER BY field, id`` (our sort with its tie-breaker) too.
        cur.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {table.table} (json_extract(doc, {json_path(field)}), id)')


def _sync_multi(cur: sqlite3.Cursor, table: IndexTable, *, rebuild: bool) -> None:
    """Triggers keep ``multi_values`` exact on every insert, update and delete, whoever writes."""
    for suffix in ("ins", "upd", "del"):
        cur.execute(f'DROP TRIGGER IF EXISTS "{table.base}__multi_{suffix}"')
    if rebuild:
        cur.execute(f"DELETE FROM {MULTI_TABLE} WHERE idx = ?", (table.name,))
        for field in sorted(table.multi):
            cur.execute(_multi_insert(table, field, "t.id") + f" FROM {table.table} AS t, " + _each(field, "t"))
    if not table.multi:
        return
    inserts = "".join(
        _multi_insert(table, field, "NEW.id") + " FROM " + _each(field, "NEW") + "; " for field in sorted(table.multi)
    )
    forget = f"DELETE FROM {MULTI_TABLE} WHERE idx = {sql_literal(table.name)} AND doc_id = OLD.id; "
    t, base = table.table, table.base
    cur.execute(f'CREATE TRIGGER "{base}__multi_ins" AFTER INSERT ON {t} BEGIN {inserts}END')
    # Most updates (a profile's visit count) leave the lists alone; comparing them is cheaper than rewriting.
    changed = " OR ".join(
        f"json_extract(OLD.doc, {json_path(field)}) IS NOT json_extract(NEW.doc, {json_path(field)})"
        for field in sorted(table.multi)
    )
    cur.execute(
        f'CREATE TRIGGER "{base}__multi_upd" AFTER UPDATE OF doc ON {t} WHEN {changed} BEGIN {forget}{inserts}END'
    )
    cur.execute(f'CREATE TRIGGER "{base}__multi_del" AFTER DELETE ON {t} BEGIN {forget}END')


def _multi_insert(table: IndexTable, field: str, doc_id: str) -> str:
    return (
        f"INSERT OR IGNORE INTO {MULTI_TABLE} (idx, field, value, doc_id) "
        f"SELECT {sql_literal(table.name)}, {sql_literal(field)}, e.value, {doc_id}"
    )


def _each(field: str, source: str) -> str:
    # Elements of a list (or a lone scalar, which counts as a one-element list); never nulls, nested lists,
    # objects, or an object's members (those have a text key).
    return (
        f"json_each({source}.doc, {json_path(field)}) AS e "
        "WHERE e.type NOT IN ('null', 'object', 'array') AND typeof(e.key) != 'text'"
    )
