"""The embedded adapter of the Queue port: two tables in the documents store's SQLite file.

Every write goes through the store's one writer thread (so it shares group commits with document writes and
stays off the event loop); reads use the store's reader pool. A claim sets a lease (a token and an expiry) on
due jobs in one UPDATE ... RETURNING; a job whose lease expired is due again, which is how jobs of a consumer
that died come back, one attempt more. Finishing a delivery only acts while the row still carries that delivery's token.
Consumers in this process are woken by an enqueue; due delayed jobs are found by polling.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from tracardi.storage.embedded._ops import Prepared, apply_writes
from tracardi.storage.embedded._writer import Change
from tracardi.storage.embedded.documents import SqliteDocumentStore
from tracardi.storage.ports import DeadLetter, Job, QueueStats, WriteOp, WriteResult

if TYPE_CHECKING:
    from tracardi.storage.ports import Outbox, Queue

JOBS = "queue_jobs"
DEAD = "queue_dead"
_POLL = 0.05  # seconds between looks for delayed jobs that became due while a claim waits

_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {JOBS} (queue TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, "
    "attempts INTEGER NOT NULL, enqueued REAL NOT NULL, due REAL NOT NULL, lease TEXT, "
    "lease_until REAL NOT NULL DEFAULT 0, error TEXT, PRIMARY KEY (queue, id))",
    f"CREATE INDEX IF NOT EXISTS {JOBS}_due ON {JOBS} (queue, due)",
    f"CREATE TABLE IF NOT EXISTS {DEAD} (queue TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, "
    "attempts INTEGER NOT NULL, enqueued REAL NOT NULL, error TEXT NOT NULL, failed_at REAL NOT NULL, "
    "PRIMARY KEY (queue, id))",
    f"CREATE INDEX IF NOT EXISTS {DEAD}_failed ON {DEAD} (queue, failed_at)",
)

_INSERT = (
    f"INSERT INTO {JOBS} (queue, id, body, attempts, enqueued, due) VALUES (?, ?, ?, 0, ?, ?) "
    "ON CONFLICT (queue, id) DO NOTHING"
)
# A row still carrying an expired lease was never finished: its consumer died, which counts as an attempt (so a
# job that kills its worker reaches the retry cap). SET reads the old lease_until.
_CLAIM = (
    f"UPDATE {JOBS} SET lease = ?, lease_until = ?, attempts = attempts + (lease_until > 0) "
    f"WHERE rowid IN (SELECT rowid FROM {JOBS} "
    "WHERE queue = ? AND due <= ? AND lease_until <= ? ORDER BY due LIMIT ?) "
    "RETURNING id, body, attempts, enqueued"
)
_ACK = f"DELETE FROM {JOBS} WHERE queue = ? AND id = ? AND lease = ?"
_RETRY = (
    f"UPDATE {JOBS} SET attempts = attempts + 1, due = ?, lease = NULL, lease_until = 0, error = ? "
    "WHERE queue = ? AND id = ? AND lease = ?"
)
_TO_DEAD = (
    f"INSERT OR REPLACE INTO {DEAD} (queue, id, body, attempts, enqueued, error, failed_at) "
    f"SELECT queue, id, body, attempts + 1, enqueued, ?, ? FROM {JOBS} WHERE queue = ? AND id = ? AND lease = ?"
)
_REPLAY = (
    f"INSERT INTO {JOBS} (queue, id, body, attempts, enqueued, due) "
    f"SELECT queue, id, body, 0, ?, ? FROM {DEAD} WHERE queue = ? AND id = ? ON CONFLICT (queue, id) DO NOTHING"
)
_STATS = (
    "SELECT count(*) FILTER (WHERE due <= ?1 AND lease_until <= ?1), count(*) FILTER (WHERE lease_until > ?1), "
    "count(*) FILTER (WHERE due > ?1 AND lease_until <= ?1), min(enqueued) FILTER (WHERE due <= ?1 AND "
    f"lease_until <= ?1) FROM {JOBS} WHERE queue = ?2"
)


def _each(statement: str, cur: sqlite3.Cursor, args: list[tuple[Any, ...]], changes: list[Change]) -> list[int]:
    """Run one statement per argument tuple; how many rows each changed (a writer run)."""
    out = []
    for params in args:
        cur.execute(statement, params)
        out.append(cur.rowcount)
    return out


def _migrate(cur: sqlite3.Cursor, args: list[None], changes: list[Change]) -> list[None]:
    for statement in _SCHEMA:
        cur.execute(statement)
    return [None for _ in args]


def _enqueue_many(cur: sqlite3.Cursor, args: list[list[tuple[Any, ...]]], changes: list[Change]) -> list[int]:
    out = []
    for rows in args:
        added = 0
        for row in rows:
            cur.execute(_INSERT, row)
            added += cur.rowcount
        out.append(added)
    return out


def _claim(cur: sqlite3.Cursor, args: list[tuple[Any, ...]], changes: list[Change]) -> list[list[Any]]:
    return [cur.execute(_CLAIM, params).fetchall() for params in args]


def _dead(cur: sqlite3.Cursor, args: list[tuple[Any, ...]], changes: list[Change]) -> list[int]:
    out = []
    for error, failed_at, queue, job_id, lease in args:
        cur.execute(_TO_DEAD, (error, failed_at, queue, job_id, lease))
        if cur.rowcount:
            cur.execute(_ACK, (queue, job_id, lease))
        out.append(cur.rowcount)
    return out


def _replay(cur: sqlite3.Cursor, args: list[tuple[Any, ...]], changes: list[Change]) -> list[int]:
    out = []
    for now, queue, job_id in args:
        cur.execute(_REPLAY, (now, now, queue, job_id))
        cur.execute(f"DELETE FROM {DEAD} WHERE queue = ? AND id = ?", (queue, job_id))
        out.append(cur.rowcount)
    return out


def _write_and_enqueue(
    cur: sqlite3.Cursor, args: list[tuple[list[Prepared], list[tuple[Any, ...]]]], changes: list[Change]
) -> list[list[WriteResult]]:
    """Each caller's writes, then its jobs only if every write succeeded (a writer run: one transaction)."""
    out = []
    for prepared, rows in args:
        (results,) = apply_writes(cur, [prepared], changes)
        if all(result.ok for result in results):
            for row in rows:
                cur.execute(_INSERT, row)
        out.append(results)
    return out


_ACK_RUN = partial(_each, _ACK)
_RETRY_RUN = partial(_each, _RETRY)
_DROP_RUN = partial(_each, f"DELETE FROM {DEAD} WHERE queue = ? AND id = ?")


class SqliteQueue:
    """Queues in the embedded store's file, for one process on one machine."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store
        self._wake: dict[str, asyncio.Event] = {}

    def __repr__(self) -> str:
        return f"SqliteQueue({self._store!r})"

    async def migrate(self) -> None:
        """Create the queue tables; idempotent."""
        await self._store.run_write(_migrate, None)

    async def ping(self) -> None:
        await self._store.ping()

    async def close(self) -> None:
        """Nothing of its own to release: the documents store owns the file."""

    async def enqueue(self, queue: str, body: bytes, *, job_id: str, delay: float = 0.0) -> bool:
        now = time.time()
        added: int = await self._store.run_write(_enqueue_many, [(queue, job_id, body, now, now + max(delay, 0.0))])
        if added:
            self._event(queue).set()
        return bool(added)

    async def enqueue_many(self, queue: str, jobs: Sequence[tuple[str, bytes]]) -> int:
        now = time.time()
        added: int = await self._store.run_write(_enqueue_many, [(queue, i, body, now, now) for i, body in jobs])
        if added:
            self._event(queue).set()
        return added

    async def bulk_and_enqueue(
        self, ops: Sequence[WriteOp], queue: str, jobs: Sequence[tuple[str, bytes]]
    ) -> list[WriteResult]:
        """The documents' writes and, only if all succeeded, the jobs, in one commit (a follow-up is never lost
        nor sent for a write that did not happen)."""
        now = time.time()
        rows = [(queue, job_id, body, now, now) for job_id, body in jobs]
        results: list[WriteResult] = await self._store.run_write(
            _write_and_enqueue, (self._store.prepare_ops(ops), rows)
        )
        if rows and all(result.ok for result in results):
            self._event(queue).set()
        return results

    async def claim(self, queue: str, consumer: str, *, count: int, visibility: float, block: float = 0.0) -> list[Job]:
        if count < 1:
            return []
        deadline = time.monotonic() + max(block, 0.0)
        wake = self._event(queue)
        while True:
            wake.clear()
            jobs = await self._claim_now(queue, count, visibility)
            left = deadline - time.monotonic()
            if jobs or left <= 0:
                return jobs
            try:
                await asyncio.wait_for(wake.wait(), min(left, _POLL))
            except TimeoutError:
                continue

    async def _claim_now(self, queue: str, count: int, visibility: float) -> list[Job]:
        now = time.time()
        lease = uuid.uuid4().hex
        rows = await self._store.run_write(_claim, (lease, now + visibility, queue, now, now, count))
        return [
            Job(id=job_id, queue=queue, body=bytes(body), attempts=attempts, enqueued_at=enqueued, receipt=lease)
            for job_id, body, attempts, enqueued in rows
        ]

    async def ack(self, job: Job) -> bool:
        done: int = await self._store.run_write(_ACK_RUN, (job.queue, job.id, job.receipt))
        return bool(done)

    async def retry(self, job: Job, *, delay: float, error: str) -> bool:
        due = time.time() + max(delay, 0.0)
        done: int = await self._store.run_write(_RETRY_RUN, (due, error, job.queue, job.id, job.receipt))
        return bool(done)

    async def dead_letter(self, job: Job, *, error: str) -> bool:
        done: int = await self._store.run_write(_dead, (error, time.time(), job.queue, job.id, job.receipt))
        return bool(done)

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        sql = f"SELECT id, body, attempts, error, failed_at FROM {DEAD} WHERE queue = ? ORDER BY failed_at, id LIMIT ?"
        rows = await self._store.run_read(lambda c: c.execute(sql, (queue, max(limit, 1))).fetchall(), "dead letters")
        return [DeadLetter(i, queue, bytes(body), n, error, at) for i, body, n, error, at in rows]

    async def replay(self, queue: str, job_id: str) -> bool:
        done: int = await self._store.run_write(_replay, (time.time(), queue, job_id))
        if done:
            self._event(queue).set()
        return bool(done)

    async def drop(self, queue: str, job_id: str) -> bool:
        done: int = await self._store.run_write(_DROP_RUN, (queue, job_id))
        return bool(done)

    async def stats(self, queue: str) -> QueueStats:
        now = time.time()

        def read(conn: sqlite3.Connection) -> tuple[Any, ...]:
            counts = conn.execute(_STATS, (now, queue)).fetchone()
            (dead,) = conn.execute(f"SELECT count(*) FROM {DEAD} WHERE queue = ?", (queue,)).fetchone()
            return (*counts, dead)

        ready, in_flight, delayed, oldest, dead = await self._store.run_read(read, "queue stats")
        return QueueStats(
            ready=ready,
            in_flight=in_flight,
            delayed=delayed,
            dead=dead,
            oldest_age=max(0.0, now - oldest) if oldest is not None else 0.0,
        )

    def _event(self, queue: str) -> asyncio.Event:
        event = self._wake.get(queue)
        if event is None:
            event = self._wake[queue] = asyncio.Event()
        return event


if TYPE_CHECKING:

    def _conforms(queue: SqliteQueue) -> Queue:
        return queue

    def _outbox(queue: SqliteQueue) -> Outbox:
        return queue
