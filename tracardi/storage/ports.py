"""Ports: what the engine needs from storage, as Protocols that every adapter implements.

The documents port is shaped after OpenSearch so that both the embedded (SQLite) and the OpenSearch adapter fit:
documents by id with a version for optimistic concurrency, bulk writes that report each item's outcome, queries given
as a condition AST (``tracardi.domain.query``) with sort and opaque ``search_after``-style cursors, and a scan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from tracardi.domain.query import Condition, Sort
from tracardi.storage.aggregations import Interval, TermBucket, TimeBucket
from tracardi.storage.errors import StorageError

T = TypeVar("T")


class Index(Generic[T]):
    """A kind of document: its name, its msgspec Struct type and the fields an adapter indexes.

    ``fields`` are scalar dot paths to index for equality, range and sort; ``multi`` are list-valued paths
    (e.g. a profile's ``ids``) indexed per element; ``cached`` asks the adapter to keep recent documents
    in memory where it can keep that cache exact (the embedded store owns its file, so it can).
    """

    def __init__(
        self,
        name: str,
        doc_type: type[T],
        *,
        fields: tuple[str, ...] = (),
        multi: tuple[str, ...] = (),
        cached: bool = False,
    ) -> None:
        self.name = name
        self.doc_type = doc_type
        self.fields = fields
        self.multi = multi
        self.cached = cached

    def __repr__(self) -> str:
        return f"Index({self.name!r})"


class Versioned(msgspec.Struct, Generic[T], frozen=True):
    """A stored document and the version it was read at (pass it back as ``if_version`` to write safely)."""

    doc: T
    version: int


class Put(msgspec.Struct, Generic[T], frozen=True):
    """Write a whole document under ``doc_id``.

    ``if_version`` set: only if the stored version is that one. ``create``: only if no document has the id.
    Neither: an unconditional upsert.
    """

    index: Index[T]
    doc_id: str
    doc: T
    if_version: int | None = None
    create: bool = False


class Delete(msgspec.Struct, Generic[T], frozen=True):
    """Delete a document; a missing one is reported as NotFound for that item."""

    index: Index[T]
    doc_id: str


WriteOp = Put[Any] | Delete[Any]


class WriteResult(msgspec.Struct, frozen=True):
    """The outcome of one item of a bulk write: its new version, or the error that stopped it."""

    doc_id: str
    version: int | None = None
    error: StorageError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a query; ``next`` is an opaque cursor for the page after it, None on the last page."""

    items: list[Versioned[T]] = field(default_factory=list)
    next: str | None = None


class DocumentStore(Protocol):
    """Profiles, sessions, events, configuration entities and job records, by index."""

    async def migrate(self) -> None:
        """Create or upgrade the schema (tables/indices); idempotent; never done by a first write."""
        ...

    async def close(self) -> None:
        """Flush buffered writes and release connections."""
        ...

    async def ping(self) -> None:
        """Raise Unavailable unless the store answers."""
        ...

    async def get(self, index: Index[T], doc_id: str) -> Versioned[T] | None:
        """The document with this id, or None."""
        ...

    async def get_many(self, index: Index[T], doc_ids: Sequence[str]) -> list[Versioned[T]]:
        """The documents that exist among these ids, in the order asked."""
        ...

    async def put(
        self, index: Index[T], doc_id: str, doc: T, *, if_version: int | None = None, create: bool = False
    ) -> int:
        """Write one document and return its new version; raise VersionConflict when the condition fails."""
        ...

    async def delete(self, index: Index[T], doc_id: str) -> bool:
        """Delete one document; False when there was none."""
        ...

    async def bulk(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply many writes; each item succeeds or fails alone and the results come back in order.

        Adapters may share one physical write among concurrent callers (group commit); a result is only
        returned once the write is durable.
        """
        ...

    async def count(self, index: Index[T], where: Condition | None = None) -> int:
        """How many documents match."""
        ...

    async def query(
        self,
        index: Index[T],
        where: Condition | None = None,
        *,
        sort: Sequence[Sort] = (),
        limit: int = 20,
        after: str | None = None,
    ) -> Page[T]:
        """One page of matching documents in sort order, starting after the cursor ``after``."""
        ...

    def scan(
        self, index: Index[T], where: Condition | None = None, *, page_size: int = 500
    ) -> AsyncIterator[list[Versioned[T]]]:
        """Every matching document, page by page, in id order (for jobs and migrations)."""
        ...

    async def delete_where(self, index: Index[T], where: Condition) -> int:
        """Delete every matching document; return how many."""
        ...

    async def terms(
        self, index: Index[T], field: str, where: Condition | None = None, *, size: int = 10
    ) -> list[TermBucket]:
        """The ``size`` most frequent values of ``field`` among the matches (see ``aggregations``)."""
        ...

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
        """Matches per calendar interval of the time ``field`` over ``[since, until)`` (see ``aggregations``)."""
        ...


class Locks(Protocol):
    """Mutual exclusion by key (a profile id, a session id): in-process on one machine, Redis across hosts."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """An async context manager that holds the lock on ``key`` while inside."""
        ...


# -- queues -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job: its id, its queue, its encoded message, and how many times it was retried before.

    ``receipt`` is the adapter's handle of this delivery (a stream entry id, a lease token): ack, retry and
    dead-letter act on this delivery only, so a consumer whose lease expired cannot finish a job another took.
    """

    id: str
    queue: str
    body: bytes
    attempts: int
    enqueued_at: float
    receipt: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed for good, with the error of its last attempt."""

    id: str
    queue: str
    body: bytes
    attempts: int
    error: str
    failed_at: float


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A queue's state: jobs ready now, claimed, delayed, dead; the age in seconds of the oldest ready job."""

    ready: int = 0
    in_flight: int = 0
    delayed: int = 0
    dead: int = 0
    oldest_age: float = 0.0

    @property
    def depth(self) -> int:
        """Jobs not yet done: ready, claimed and delayed."""
        return self.ready + self.in_flight + self.delayed


class Queue(Protocol):
    """At-least-once work queues by name, with delayed jobs, retries and a dead-letter list per queue.

    A job id is unique among the live jobs of a queue: enqueuing an id that is queued, delayed or in flight
    is refused (returns False), so a producer may repeat itself. Once acked or dead, the id may be used again.
    """

    async def ping(self) -> None:
        """Raise Unavailable unless the queue backend answers."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def enqueue(self, queue: str, body: bytes, *, job_id: str, delay: float = 0.0) -> bool:
        """Add a job, due now or after ``delay`` seconds; False when a live job has this id."""
        ...

    async def enqueue_many(self, queue: str, jobs: Sequence[tuple[str, bytes]]) -> int:
        """Add many jobs due now (pipelined); how many were new."""
        ...

    async def claim(self, queue: str, consumer: str, *, count: int, visibility: float, block: float = 0.0) -> list[Job]:
        """Take up to ``count`` due jobs for ``visibility`` seconds, waiting up to ``block`` seconds for one.

        Jobs whose claim expired (their consumer died) are delivered again. Every consumer of one queue uses
        the same ``visibility`` (Redis judges expiry by the claimer's timeout, not the first one's).
        """
        ...

    async def ack(self, job: Job) -> bool:
        """The job is done: remove it. False when this delivery no longer owns it."""
        ...

    async def retry(self, job: Job, *, delay: float, error: str) -> bool:
        """Put the job back, due after ``delay`` seconds, with one more attempt counted."""
        ...

    async def dead_letter(self, job: Job, *, error: str) -> bool:
        """Move the job to the queue's dead-letter list with its error."""
        ...

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        """The queue's dead letters, oldest failure first."""
        ...

    async def replay(self, queue: str, job_id: str) -> bool:
        """Put a dead letter back on its queue with its attempts reset; False when there is none."""
        ...

    async def drop(self, queue: str, job_id: str) -> bool:
        """Forget a dead letter; False when there is none."""
        ...

    async def stats(self, queue: str) -> QueueStats:
        """Counts and age of the oldest ready job."""
        ...


class Outbox(Protocol):
    """A queue that can commit jobs in the same transaction as document writes (the embedded adapter can)."""

    async def bulk_and_enqueue(
        self, ops: Sequence[WriteOp], queue: str, jobs: Sequence[tuple[str, bytes]]
    ) -> list[WriteResult]:
        """Apply the writes and, only if every one succeeded, enqueue the jobs, in one commit."""
        ...


class Leases(Protocol):
    """Exclusive, expiring claims across hosts: the first to take a key holds it until ``ttl`` passes."""

    async def take(self, key: str, ttl: float) -> bool:
        """True for the first taker of ``key`` while its lease lasts (Redis ``SET NX PX``)."""
        ...
