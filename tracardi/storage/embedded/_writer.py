"""The one writer thread: group commit of every queued write job.

Coroutines submit jobs and await a future. A job is an argument and a *run function* that applies a list of
such arguments with the writer's cursor and returns one result per argument. The thread takes whatever is
queued, hands each stretch of consecutive jobs with the same run function to it in one call, all inside ONE
transaction (a stretch that fails is undone alone, under a savepoint when the group has several, and fails
only its own jobs), commits once, updates the read caches, and only then settles the futures with one
``call_soon_threadsafe`` per event loop. While it commits, the next group queues up: the busier the store,
the more callers share one fsync and one statement per index.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import sqlite3
import threading
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import Any

from tracardi.storage.embedded._cache import DocCache, Entry
from tracardi.storage.embedded._connect import BUSY_TIMEOUT_MS, connect_writer
from tracardi.storage.embedded._errors import storage_error
from tracardi.storage.errors import StorageError, Unavailable

Change = tuple[DocCache, str, Entry | None]  # a committed write (entry) or delete (None) to show the cache
RunFn = Callable[[sqlite3.Cursor, list[Any], list[Change]], list[Any]]

_MAX_GROUP = 4096  # jobs per transaction: bounds a commit's latency and memory under a flood


class Job:
    """A write waiting for the writer: what to run, on what, and where to report."""

    __slots__ = ("arg", "future", "loop", "run")

    def __init__(self, run: RunFn, arg: Any, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop) -> None:
        self.run = run
        self.arg = arg
        self.future = future
        self.loop = loop


class _Stop:
    """The request to finish: flush what is queued before it, close the connection, then report."""

    def __init__(self, future: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        self.future = future
        self.loop = loop


class Writer:
    """Owns the write connection and the thread that uses it."""

    def __init__(self, path: Path, synchronous: str, wal_reset: threading.Event) -> None:
        self._path = path
        self._wal_reset = wal_reset
        self._synchronous = synchronous
        self._queue: queue.SimpleQueue[Job | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._gone: str | None = None  # why the writer takes no more jobs
        self._thread = threading.Thread(target=self._run, name=f"sqlite-writer:{path.name}", daemon=True)
        self.commits = 0  # transactions committed, for metrics and tests
        self.wal_resets = 0  # RESTART checkpoints run between groups (see _checkpoint)

    def start(self) -> None:
        """Start the thread; it opens the file (errors reach the first job)."""
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job; raises Unavailable once the writer has stopped."""
        with self._lock:
            if self._gone is not None:
                raise Unavailable(self._gone)
            self._queue.put(job)

    def check(self) -> None:
        """Raise Unavailable once the writer takes no more jobs."""
        if self._gone is not None:
            raise Unavailable(self._gone)

    async def call(self, run: RunFn, arg: Any) -> Any:
        """Have ``run`` apply ``arg`` in the next group commit; its result for ``arg`` once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.submit(Job(run, arg, future, loop))
        return await future

    async def stop(self) -> None:
        """Commit everything queued so far, then stop the thread and close the connection."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            running = self._gone is None and self._thread.ident is not None
            if running:
                self._queue.put(_Stop(future, loop))
            elif self._gone is None:
                self._gone = "the store is closed"
        if running:
            await future
        if self._thread.is_alive():  # it reported the stop as its last act; joining takes a moment at most
            await asyncio.to_thread(self._thread.join)

    # -- the thread --------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = connect_writer(self._path, self._synchronous)
        except (sqlite3.Error, StorageError) as exc:
            self._finish(f"sqlite: cannot open {self._path}: {exc}", None, [])
            return
        reason = f"the store at {self._path} is closed"
        stop: _Stop | None = None
        jobs: list[Job] = []
        try:
            cur = conn.cursor()
            while stop is None:
                jobs, stop = self._take()
                if jobs:
                    self._group(conn, cur, jobs)
                jobs = []
                if self._wal_reset.is_set():
                    self._restart_wal(cur)
        except BaseException as exc:
            reason = f"the sqlite writer of {self._path} crashed: {exc!r}"
            raise
        finally:
            conn.close()
            self._finish(reason, stop, jobs)

    def _restart_wal(self, cur: sqlite3.Cursor) -> None:
        """Checkpoint what the last PASSIVE checkpoint left and have the next commit write the WAL from its start.

        A reader still on the log makes a RESTART wait for it; the writer does not (every request would wait with
        it, up to the busy timeout behind a long query): it tries without waiting and leaves the rest for the
        checkpointer's next round.
        """
        self._wal_reset.clear()
        try:
            cur.execute("PRAGMA busy_timeout = 0")
            try:
                busy = cur.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
            finally:
                cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error:
            return  # a failed checkpoint loses nothing: the WAL keeps every commit; the next one tries again
        if not busy:
            self.wal_resets += 1

    def _take(self) -> tuple[list[Job], _Stop | None]:
        """Block for one item, then take whatever else is queued, up to a group's size or a stop."""
        item = self._queue.get()
        jobs: list[Job] = []
        while True:
            if isinstance(item, _Stop):
                return jobs, item
            jobs.append(item)
            if len(jobs) >= _MAX_GROUP:
                return jobs, None
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return jobs, None

    def _group(self, conn: sqlite3.Connection, cur: sqlite3.Cursor, jobs: list[Job]) -> None:
        changes: list[Change] = []
        stretches = [(run, list(stretch)) for run, stretch in itertools.groupby(jobs, key=attrgetter("run"))]
        # A lone stretch (the usual case: only bulk writes queued) needs no savepoint: the transaction is its own.
        guarded = len(stretches) > 1
        try:
            cur.execute("BEGIN IMMEDIATE")
            outcomes = []
            for run, stretch in stretches:
                outcomes.extend(self._apply(cur, run, stretch, changes, guarded=guarded))
            committed = conn.in_transaction
            if committed:
                cur.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the rollback's own failure adds nothing to `exc`
                    cur.execute("ROLLBACK")
            _settle([(job.future, None, storage_error(exc, "commit"), job.loop) for job in jobs])
            return
        if committed:
            self.commits += 1
        for cache, doc_id, entry in changes:
            cache.committed(doc_id, entry)
        _settle([(job.future, result, error, job.loop) for job, (result, error) in zip(jobs, outcomes, strict=True)])

    @staticmethod
    def _apply(
        cur: sqlite3.Cursor, run: RunFn, jobs: list[Job], changes: list[Change], *, guarded: bool
    ) -> list[tuple[Any, StorageError | None]]:
        """Apply a stretch of jobs; its failure undoes and fails only these jobs."""
        mark = len(changes)
        if guarded:
            cur.execute("SAVEPOINT run")
        try:
            results = run(cur, [job.arg for job in jobs], changes)
        except Exception as exc:  # noqa: BLE001 - the writer is a boundary: the error goes to the jobs' callers
            if guarded:
                cur.execute("ROLLBACK TO run")
                cur.execute("RELEASE run")
            elif cur.connection.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                cur.execute("ROLLBACK")
            del changes[mark:]
            return [(None, storage_error(exc, "write")) for _ in jobs]
        if guarded:
            cur.execute("RELEASE run")
        return [(result, None) for result in results]

    def _finish(self, reason: str, stop: _Stop | None, unfinished: list[Job]) -> None:
        """Refuse new jobs, fail the ones not done (settled ones stay settled), and report the stop."""
        with self._lock:
            self._gone = reason
            left: list[Job | _Stop] = [*unfinished]
            with contextlib.suppress(queue.Empty):
                while True:
                    left.append(self._queue.get_nowait())
        stops = [item for item in left if isinstance(item, _Stop)] + ([stop] if stop else [])
        failed = [(item.future, None, Unavailable(reason), item.loop) for item in left if isinstance(item, Job)]
        _settle(failed + [(item.future, None, None, item.loop) for item in stops])


def _settle(items: list[tuple[asyncio.Future[Any], Any, StorageError | None, asyncio.AbstractEventLoop]]) -> None:
    """Resolve futures on their loops, one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, StorageError | None]]] = {}
    for future, result, error, loop in items:
        by_loop.setdefault(loop, []).append((future, result, error))
    for loop, batch in by_loop.items():
        # A closed loop has nobody left waiting for these results.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, batch)


def _resolve(batch: list[tuple[asyncio.Future[Any], Any, StorageError | None]]) -> None:
    for future, result, error in batch:
        if future.done():  # the caller was cancelled; the write itself stands
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
