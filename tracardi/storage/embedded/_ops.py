"""Writes: prepared on the event loop, decided and applied by the writer a whole run of callers at a time.

Preparing validates and encodes each item (a snapshot of the document as it was when handed over) into a tuple
``(step, table, doc_id, payload, expected)``. The writer then, for every caller queued together:

1. reads the stored versions of every id the run touches (one statement per index);
2. decides each item in queue order against those versions, as if applied one by one (``step``), giving each
   caller its results: new versions, VersionConflict, NotFound;
3. writes the net effect with one upsert per index (and a delete where it removed documents): a multi-row
   VALUES binding each row's id, version, JSON text and column values (``_fields``), so SQLite parses no document.

Few statements per run matter more than their size: Python's sqlite3 releases the GIL around every step, and
under a busy event loop each re-acquisition waits, so a statement per item would make the loop slow the writer.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import msgspec

from tracardi.storage.embedded._sql import IndexTable
from tracardi.storage.embedded._writer import Change
from tracardi.storage.errors import NotFound, StorageError, VersionConflict
from tracardi.storage.ports import WriteResult

_MAX_ROWS = 256  # rows per upsert statement
_MAX_PARAMS = 32766  # SQLite's least limit of parameters per statement since 3.32

Row = tuple[bytes, tuple[Any, ...]]  # a document's JSON and its column values
Final = tuple[int, Row]  # the version a run leaves a document at, and its row


class RunState:
    """The versions a run of writes sees: as stored when it began, as left by the items decided so far."""

    __slots__ = ("columns", "current", "final", "stored")

    def __init__(self, rows: dict[IndexTable, dict[str, list[Any]]]) -> None:
        self.stored = {table: {doc_id: row[0] for doc_id, row in found.items()} for table, found in rows.items()}
        self.columns = rows  # id -> [version, field column values...] as stored
        self.current = {table: dict(versions) for table, versions in self.stored.items()}
        self.final: dict[IndexTable, dict[str, Final | None]] = {table: {} for table in rows}


Step = Callable[[RunState, IndexTable, str, Any, "int | None"], WriteResult]
Prepared = tuple[Step, IndexTable, str, Any, "int | None"]


def prepare_put(table: IndexTable, doc_id: object, doc: object, if_version: int | None, create: bool) -> Prepared:
    """Validate and encode one put; a bad item becomes a failed item, not an exception."""
    if not isinstance(doc_id, str) or not doc_id:
        return _fail(table, doc_id, "a document id must be a non-empty string")
    if table.check_type and not isinstance(doc, table.doc_type):
        return _fail(table, doc_id, f"expected a {table.doc_type.__name__}, got {type(doc).__name__}")
    if create and if_version is not None:
        return _fail(table, doc_id, "create and if_version exclude each other")
    try:
        text = table.encoder.encode(doc)
        row: Row = (text, table.extract(doc, text))
    except (TypeError, ValueError, msgspec.EncodeError) as exc:
        return _fail(table, doc_id, f"cannot encode the document: {exc}")
    if if_version is not None:
        return (_if_version, table, doc_id, row, if_version)
    return (_create if create else _upsert, table, doc_id, row, None)


def prepare_delete(table: IndexTable, doc_id: object) -> Prepared:
    """Validate one delete."""
    if not isinstance(doc_id, str) or not doc_id:
        return _fail(table, doc_id, "a document id must be a non-empty string")
    return (_delete, table, doc_id, None, None)


def apply_writes(cur: sqlite3.Cursor, batches: list[list[Prepared]], changes: list[Change]) -> list[list[WriteResult]]:
    """Apply the ops of many callers (a writer run), in queue order; one list of results per caller."""
    run = RunState(_stored_versions(cur, batches))
    results = [
        [step(run, table, doc_id, payload, expected) for step, table, doc_id, payload, expected in ops]
        for ops in batches
    ]
    _write_net_effect(cur, run, changes)
    return results


def delete_where(
    cur: sqlite3.Cursor, requests: list[tuple[IndexTable, str, list[Any]]], changes: list[Change]
) -> list[int]:
    """Delete the matching documents (a writer run); the triggers clean the multi-value rows."""
    counts = []
    for table, where, params in requests:
        rows = cur.execute(f"DELETE FROM {table.table} AS d WHERE {where} RETURNING id", params).fetchall()
        if table.cache is not None:
            changes.extend((table.cache, doc_id, None) for (doc_id,) in rows)
        counts.append(len(rows))
    return counts


def _stored_versions(cur: sqlite3.Cursor, batches: list[list[Prepared]]) -> dict[IndexTable, dict[str, list[Any]]]:
    """id -> [version, field column values...] of every stored document the run names, with one statement for
    all indices."""
    ids: defaultdict[IndexTable, list[str]] = defaultdict(list)
    for ops in batches:
        for step, table, doc_id, _, _ in ops:
            if step is not _failed:
                ids[table].append(doc_id)
    if not ids:
        return {}
    tables = list(ids)
    sql = "SELECT " + ", ".join(f"({table.sql_versions})" for table in tables)
    found = cur.execute(sql, [msgspec.json.encode(ids[table]) for table in tables]).fetchone()
    return {
        table: msgspec.json.decode(text, type=dict[str, list[Any]]) for table, text in zip(tables, found, strict=True)
    }


def _write_net_effect(cur: sqlite3.Cursor, run: RunState, changes: list[Change]) -> None:
    """One upsert per index for what the run wrote (per ``_MAX_ROWS`` rows, and per set of field columns that
    changed: SQLite rewrites the index entry of every column an upsert sets, so an unchanged one is left out),
    one delete for what it removed."""
    for table, final in run.final.items():
        stored = run.stored[table]
        columns_of = run.columns[table]
        fields = len(table.field_columns)
        groups: dict[tuple[int, ...] | None, list[Any]] = {}
        deletes = []
        for doc_id, entry in final.items():
            if entry is not None:
                version, (text, columns) = entry
                old = columns_of.get(doc_id)
                changed = None if old is None else _changed(old, columns, fields)
                params = groups.get(changed)
                if params is None:
                    params = groups[changed] = []
                params += (doc_id, version, text, *columns)
            elif doc_id in stored:
                deletes.append(doc_id)
        if deletes:
            cur.execute(table.sql_delete_many, (msgspec.json.encode(deletes),))
        chunk = max(1, min(_MAX_ROWS, _MAX_PARAMS // table.width)) * table.width
        for changed, params in groups.items():
            for start in range(0, len(params), chunk):
                part = params[start : start + chunk]
                cur.execute(table.sql_upsert(len(part) // table.width, changed), part)
        if table.cache is not None:
            changes.extend(
                (table.cache, doc_id, None if entry is None else (entry[0], entry[1][0]))
                for doc_id, entry in final.items()
            )


def _changed(old: list[Any], columns: tuple[Any, ...], fields: int) -> tuple[int, ...]:
    """The field columns whose new value is not exactly the stored one (``old[0]`` is the version). A value the
    JSON trip may have changed (a float) at worst counts as changed, which costs a rewrite, never a stale column."""
    return tuple(i for i in range(fields) if type(a := old[i + 1]) is not type(b := columns[i]) or a != b)


def _fail(table: IndexTable, doc_id: object, reason: str) -> Prepared:
    return (_failed, table, str(doc_id), StorageError(f"{table.name}/{doc_id}: {reason}"), None)


def _failed(run: RunState, table: IndexTable, doc_id: str, error: Any, expected: int | None) -> WriteResult:
    return WriteResult(doc_id, error=error)


def _upsert(run: RunState, table: IndexTable, doc_id: str, row: Any, expected: int | None) -> WriteResult:
    current = run.current[table]
    version = current.get(doc_id, 0) + 1
    current[doc_id] = version
    run.final[table][doc_id] = (version, row)
    return WriteResult(doc_id, version)


def _create(run: RunState, table: IndexTable, doc_id: str, row: Any, expected: int | None) -> WriteResult:
    current = run.current[table]
    if doc_id in current:
        return WriteResult(doc_id, error=VersionConflict(table.name, doc_id, None, current[doc_id]))
    current[doc_id] = 1
    run.final[table][doc_id] = (1, row)
    return WriteResult(doc_id, 1)


def _if_version(run: RunState, table: IndexTable, doc_id: str, row: Any, expected: int | None) -> WriteResult:
    current = run.current[table]
    actual = current.get(doc_id)
    if actual is None or actual != expected:
        return WriteResult(doc_id, error=VersionConflict(table.name, doc_id, expected, actual))
    current[doc_id] = version = actual + 1
    run.final[table][doc_id] = (version, row)
    return WriteResult(doc_id, version)


def _delete(run: RunState, table: IndexTable, doc_id: str, payload: Any, expected: int | None) -> WriteResult:
    current = run.current[table]
    if doc_id not in current:
        return WriteResult(doc_id, error=NotFound(table.name, doc_id))
    del current[doc_id]
    run.final[table][doc_id] = None
    return WriteResult(doc_id)
