"""The embedded DocumentStore: one SQLite file, one writer thread with group commit, an exact read cache."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tracardi.domain.query import Condition, Sort
from tracardi.storage.aggregations import Interval, TermBucket, TimeBucket, check_size, spans
from tracardi.storage.embedded import _schema
from tracardi.storage.embedded._aggregate import histogram_sql, read_counts, read_terms, terms_sql
from tracardi.storage.embedded._cache import DocCache, Entry
from tracardi.storage.embedded._checkpoint import Checkpointer
from tracardi.storage.embedded._compile import compile_where
from tracardi.storage.embedded._cursor import after_clause, decode_cursor, encode_cursor, plan_sort
from tracardi.storage.embedded._ops import Prepared, apply_writes, delete_where, prepare_delete, prepare_put
from tracardi.storage.embedded._reader import ReadPool, read_count, read_many, read_one, read_rows
from tracardi.storage.embedded._sql import IndexTable
from tracardi.storage.embedded._writer import Change, RunFn, Writer
from tracardi.storage.errors import InvalidQuery, NotFound, StorageError, Unavailable
from tracardi.storage.ports import Delete, Index, Page, Put, Versioned, WriteOp, WriteResult

if TYPE_CHECKING:
    from tracardi.storage.ports import DocumentStore

T = TypeVar("T")
R = TypeVar("R")

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SqliteDocumentStore:
    """Documents in one SQLite file (WAL), for a single machine with no servers.

    ``path`` is the database file; ``indices`` are every index the store serves, created by ``migrate()``.
    ``cache_size`` bounds the read cache of each index declared ``cached`` (documents per index).
    ``synchronous`` is SQLite's setting: FULL (the default) makes every write durable before it returns.

    All SQLite calls run off the event loop: writes on one writer thread that commits whatever is queued in
    one transaction (group commit), reads on worker threads, and reads of cached documents from memory.
    The cache is exact because this store is the file's only writer: one process per file.
    """

    def __init__(
        self,
        path: str | Path,
        indices: Sequence[Index[Any]],
        *,
        cache_size: int = 100_000,
        synchronous: str = "FULL",
    ) -> None:
        mode = synchronous.upper()
        if mode not in _SYNCHRONOUS:
            raise StorageError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}")
        self._path = Path(path)
        self._tables = _declare(indices, cache_size)
        wal_reset = threading.Event()
        self._writer = Writer(self._path, mode, wal_reset)
        self._checkpointer = Checkpointer(self._path, wal_reset)
        self._reads = ReadPool(self._path)
        self._started = False
        self._open = False
        self._closed = False
        self._open_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SqliteDocumentStore({str(self._path)!r})"

    @property
    def commits(self) -> int:
        """Transactions committed so far (each one may carry many callers' writes)."""
        return self._writer.commits

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Create or upgrade the schema of every declared index; idempotent."""
        if not self._open:
            await self._ensure_open()
        tables = list(self._tables.values())
        migrated: set[str] = await self._writer.call(_migrate, tables)
        for table in tables:
            table.ready = table.name in migrated

    async def close(self) -> None:
        """Commit the writes already queued, stop the writer thread and close every connection."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._started:
                await asyncio.to_thread(self._checkpointer.stop)
            await self._writer.stop()
        finally:
            await asyncio.to_thread(self._reads.close)

    async def ping(self) -> None:
        """Raise Unavailable unless the file answers a read and the writer is running."""
        if not self._open:
            await self._ensure_open()
        self._check_open()
        self._writer.check()
        await self._reads.run(_select_one, "ping")

    # -- reads ------------------------------------------------------------------------------------------------

    async def get(self, index: Index[T], doc_id: str) -> Versioned[T] | None:
        """The document, from the cache when it holds it (no thread hop), else from the file."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        cache = table.cache
        epoch = 0
        if cache is not None:
            entry = cache.get(doc_id)
            if entry is not None:
                return Versioned(table.decode(doc_id, entry[1]), entry[0])
            epoch = cache.epoch
        row = await self._reads.run(partial(read_one, table, doc_id), f"get {table.name}/{doc_id}")
        if row is None:
            return None
        if cache is not None:
            cache.fill(doc_id, row, epoch)
        return Versioned(table.decode(doc_id, row[1]), row[0])

    async def get_many(self, index: Index[T], doc_ids: Sequence[str]) -> list[Versioned[T]]:
        """The documents that exist among ``doc_ids``, in the order asked."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        ids = list(doc_ids)
        found, missing, epoch = _from_cache(table.cache, ids)
        if missing:
            rows = await self._reads.run(partial(read_many, table, missing), f"get_many {table.name}")
            found.update(rows)
            if table.cache is not None:
                for doc_id, row in rows.items():
                    table.cache.fill(doc_id, row, epoch)
        return [Versioned(table.decode(i, found[i][1]), found[i][0]) for i in ids if i in found]

    async def count(self, index: Index[T], where: Condition | None = None) -> int:
        """How many documents match."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        where_sql, params = compile_where(table, where)
        sql = f"SELECT count(*) FROM {table.table} AS d WHERE {where_sql}"
        return await self._reads.run(partial(read_count, sql, params), f"count {table.name}")

    async def query(
        self,
        index: Index[T],
        where: Condition | None = None,
        *,
        sort: Sequence[Sort] = (),
        limit: int = 20,
        after: str | None = None,
    ) -> Page[T]:
        """One page in sort order (ties by id), after the cursor ``after``; ``next`` is None on the last page."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        if not isinstance(limit, int) or limit < 1:
            raise InvalidQuery(f"limit must be a positive integer, not {limit!r}")
        plan = plan_sort(table, sort)
        where_sql, params = compile_where(table, where)
        if after is not None:
            values, last_id = decode_cursor(plan, after)
            where_sql = f"({where_sql}) AND {after_clause(plan, values, last_id, params)}"
        sql = (
            f"SELECT d.id, d.version, d.doc{plan.columns()} FROM {table.table} AS d "
            f"WHERE {where_sql} ORDER BY {plan.order_by()} LIMIT ?"
        )
        rows = await self._reads.run(partial(read_rows, table, sql, [*params, limit + 1]), f"query {table.name}")
        if len(rows) <= limit:
            return Page([row[1] for row in rows])
        last = rows[limit - 1]
        return Page([row[1] for row in rows[:limit]], encode_cursor(plan, last[2:], last[0]))

    async def scan(
        self, index: Index[T], where: Condition | None = None, *, page_size: int = 500
    ) -> AsyncIterator[list[Versioned[T]]]:
        """Every matching document, in pages of ``page_size``, in id order."""
        if not isinstance(page_size, int) or page_size < 1:
            raise InvalidQuery(f"page_size must be a positive integer, not {page_size!r}")
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        where_sql, params = compile_where(table, where)
        sql = (
            f"SELECT d.id, d.version, d.doc FROM {table.table} AS d "
            f"WHERE ({where_sql}) AND d.id > ? ORDER BY d.id LIMIT ?"
        )
        last = ""
        while True:
            read = partial(read_rows, table, sql, [*params, last, page_size])
            rows = await self._reads.run(read, f"scan {table.name}")
            if rows:
                yield [row[1] for row in rows]
            if len(rows) < page_size:
                return
            last = rows[-1][0]

    async def terms(
        self, index: Index[T], field: str, where: Condition | None = None, *, size: int = 10
    ) -> list[TermBucket]:
        """The ``size`` most frequent values of ``field`` among the matches (GROUP BY)."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        sql, params = terms_sql(table, field, where, check_size(size))
        return await self._reads.run(partial(read_terms, sql, params), f"terms {table.name}")

    async def date_histogram(
        self,
        index: Index[T],
        field: str,
        where: Condition | None = None,
        *,
        interval: Interval,
        since: datetime,
        until: datetime,
    ) -> list[TimeBucket]:
        """Matches per calendar interval of ``field`` over ``[since, until)``, empty intervals included."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        wanted = spans(interval, since, until)
        sql, params = histogram_sql(table, field, where, wanted)
        counts = await self._reads.run(partial(read_counts, sql, params), f"date_histogram {table.name}")
        return [TimeBucket(span.start, span.end, count) for span, count in zip(wanted, counts, strict=True)]

    # -- writes -----------------------------------------------------------------------------------------------

    async def put(
        self, index: Index[T], doc_id: str, doc: T, *, if_version: int | None = None, create: bool = False
    ) -> int:
        """Write one document and return its new version; VersionConflict when the condition fails."""
        if not self._open:
            await self._ensure_open()
        (result,) = await self._write([prepare_put(self._table(index), doc_id, doc, if_version, create)])
        if result.error is not None:
            raise result.error
        assert result.version is not None  # a successful put always has a version
        return result.version

    async def delete(self, index: Index[T], doc_id: str) -> bool:
        """Delete one document; False when there was none."""
        if not self._open:
            await self._ensure_open()
        (result,) = await self._write([prepare_delete(self._table(index), doc_id)])
        if isinstance(result.error, NotFound):
            return False
        if result.error is not None:
            raise result.error
        return True

    async def bulk(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply many writes, each alone, in order; they share a commit with concurrent callers' writes."""
        if not self._open:
            await self._ensure_open()
        prepared = [self._prepare(op) for op in ops]
        if not prepared:
            self._check_open()
            return []
        return await self._write(prepared)

    async def delete_where(self, index: Index[T], where: Condition) -> int:
        """Delete every matching document; return how many."""
        if not self._open:
            await self._ensure_open()
        table = self._table(index)
        where_sql, params = compile_where(table, where)
        deleted: int = await self._writer.call(delete_where, (table, where_sql, params))
        return deleted

    # -- hooks for other adapters on the same file (the queue table) ----------------------------------------

    async def run_write(self, run: RunFn, arg: Any) -> Any:
        """Have the writer thread apply ``arg`` with ``run`` in its next group commit (see ``_writer``)."""
        if not self._open:
            await self._ensure_open()
        self._check_open()
        return await self._writer.call(run, arg)

    def prepare_ops(self, ops: Sequence[WriteOp]) -> list[Prepared]:
        """Validate and encode writes for a writer run of another adapter (see ``_ops.apply_writes``)."""
        if self._closed:
            raise Unavailable(f"the store at {self._path} is closed")
        return [self._prepare(op) for op in ops]

    async def run_read(self, read: Callable[[sqlite3.Connection], R], what: str) -> R:
        """Run ``read`` on a reader connection off the loop."""
        if not self._open:
            await self._ensure_open()
        self._check_open()
        return await self._reads.run(read, what)

    # -- internals --------------------------------------------------------------------------------------------

    async def _ensure_open(self) -> None:
        """Start the writer and learn which indices the file holds at their declared schema."""
        self._check_open()
        async with self._open_lock:
            if self._open:
                return
            self._check_open()
            if not self._started:
                self._started = True
                self._writer.start()
                self._checkpointer.start()
            applied: _schema.Applied = await self._writer.call(_applied, None)
            current = _schema.current(self._tables.values(), applied)
            for table in self._tables.values():
                table.ready = table.name in current
            self._open = True

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable(f"the store at {self._path} is closed")

    def _table(self, index: Index[Any]) -> IndexTable:
        if self._closed:
            raise Unavailable(f"the store at {self._path} is closed")
        table = self._tables.get(index.name)
        if table is None:
            raise StorageError(f"index {index.name!r} is not declared to this store")
        if not table.ready:
            raise StorageError(f"index {index.name!r} is not migrated to its declared schema: run migrate() first")
        return table

    def _prepare(self, op: WriteOp) -> Prepared:
        if isinstance(op, Put):
            return prepare_put(self._table(op.index), op.doc_id, op.doc, op.if_version, op.create)
        if isinstance(op, Delete):
            return prepare_delete(self._table(op.index), op.doc_id)
        raise StorageError(f"not a write operation: {op!r}")

    async def _write(self, ops: list[Prepared]) -> list[WriteResult]:
        results: list[WriteResult] = await self._writer.call(apply_writes, ops)
        return results


def _declare(indices: Sequence[Index[Any]], cache_size: int) -> dict[str, IndexTable]:
    tables: dict[str, IndexTable] = {}
    by_base: dict[str, str] = {}
    for index in indices:
        table = IndexTable(index, DocCache(cache_size) if index.cached else None)
        if table.name in tables:
            raise StorageError(f"index {table.name!r} is declared twice")
        if table.base in by_base:
            raise StorageError(f"indices {by_base[table.base]!r} and {table.name!r} map to one table {table.base}")
        tables[table.name] = table
        by_base[table.base] = table.name
    return tables


def _from_cache(cache: DocCache | None, ids: list[str]) -> tuple[dict[str, Entry], list[str], int]:
    """The cached entries among ``ids``, the ids to read from the file, and the cache epoch before that read."""
    if cache is None:
        return {}, ids, 0
    found: dict[str, Entry] = {}
    missing = []
    for doc_id in ids:
        entry = cache.get(doc_id)
        if entry is None:
            missing.append(doc_id)
        else:
            found[doc_id] = entry
    return found, missing, cache.epoch


def _applied(cur: sqlite3.Cursor, args: list[None], changes: list[Change]) -> list[_schema.Applied]:
    """What the file records (a writer run: the writer's connection is the one sure to see the file)."""
    return [_schema.applied(cur) for _ in args]


def _migrate(cur: sqlite3.Cursor, args: list[list[IndexTable]], changes: list[Change]) -> list[set[str]]:
    """Migrate the schema (a writer run)."""
    return [_schema.migrate(cur, tables) for tables in args]


def _select_one(conn: sqlite3.Connection) -> None:
    conn.execute("SELECT 1").fetchone()


if TYPE_CHECKING:

    def _conforms(store: SqliteDocumentStore) -> DocumentStore:
        return store
