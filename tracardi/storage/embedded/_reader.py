"""Reads: a small pool of read-only connections used from ``asyncio.to_thread``, and the read statements.

WAL lets these read while the writer writes. A connection is used by one thread at a time (taken from the
pool for one call), which is what makes ``check_same_thread=False`` safe here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from tracardi.storage.embedded._connect import connect_reader
from tracardi.storage.embedded._errors import storage_error
from tracardi.storage.embedded._sql import IndexTable
from tracardi.storage.errors import Unavailable
from tracardi.storage.ports import Versioned

R = TypeVar("R")


class ReadPool:
    """Read-only connections, opened on demand, at most one per thread that reads at a time."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, fn: Callable[[sqlite3.Connection], R], context: str) -> R:
        """Run ``fn`` with a connection in a worker thread."""
        if self._closed:
            raise Unavailable(f"the store at {self._path} is closed")
        return await asyncio.to_thread(self._call, fn, context)

    def close(self) -> None:
        """Close the idle connections now and the busy ones when their call ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _call(self, fn: Callable[[sqlite3.Connection], R], context: str) -> R:
        conn = self._acquire(context)
        try:
            return fn(conn)
        except sqlite3.Error as exc:
            raise storage_error(exc, context) from exc
        finally:
            self._release(conn)

    def _acquire(self, context: str) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise Unavailable(f"the store at {self._path} is closed")
            if self._idle:
                return self._idle.pop()
        try:
            return connect_reader(self._path)
        except sqlite3.Error as exc:
            raise storage_error(exc, context) from exc

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        conn.close()


def read_one(table: IndexTable, doc_id: str, conn: sqlite3.Connection) -> tuple[int, str] | None:
    """(version, JSON) of one document."""
    row: tuple[int, str] | None = conn.execute(table.sql_get, (doc_id,)).fetchone()
    return row


def read_many(table: IndexTable, doc_ids: Sequence[str], conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """id -> (version, JSON) of the documents that exist among ``doc_ids``."""
    rows = conn.execute(table.sql_get_many, (msgspec.json.encode(list(doc_ids)).decode(),)).fetchall()
    return {doc_id: (version, text) for doc_id, version, text in rows}


def read_count(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> int:
    """The single integer a count statement returns."""
    return int(conn.execute(sql, params).fetchone()[0])


def read_rows(table: IndexTable, sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> list[Any]:
    """Rows of ``id, version, doc, sort keys...``, with ``doc`` decoded into a Versioned (in this thread)."""
    rows = conn.execute(sql, params).fetchall()
    return [(row[0], Versioned(table.decode(row[0], row[2]), row[1]), *row[3:]) for row in rows]
