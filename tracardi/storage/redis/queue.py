"""The Redis adapter of the Queue port: a stream with one consumer group per queue, delays in a sorted set.

Per queue (key names in ``keys.py``): the stream holds ready and claimed jobs; a hash maps every live job id to
its packed record (attempts, enqueue time, body), which refuses duplicate ids and keeps delayed jobs' bodies; a
sorted set holds delayed job ids by due time, moved to the stream by an atomic script; dead letters sit in a hash
ordered by a sorted set. A claim reads new entries with XREADGROUP and takes back, with XAUTOCLAIM, entries whose
consumer kept them longer than the visibility timeout (it died), each such redelivery counted as an attempt
(XPENDING's delivery counter), so a job that kills its worker still reaches the retry cap. Finishing a delivery
is one script that only acts while the entry is still pending, so two consumers never both finish one delivery.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tracardi.storage.errors import StorageError, Unavailable
from tracardi.storage.ports import DeadLetter, Job, QueueStats
from tracardi.storage.redis import _scripts
from tracardi.storage.redis._batch import Batcher
from tracardi.storage.redis.keys import GROUP, Keys

if TYPE_CHECKING:
    from tracardi.storage.ports import Queue

_PROMOTE_BATCH = 500
_MIN_RECLAIM_EVERY = 0.05


class _Record(msgspec.Struct, array_like=True, frozen=True):
    attempts: int
    enqueued_at: float
    body: bytes


class _DeadRecord(msgspec.Struct, array_like=True, frozen=True):
    attempts: int
    enqueued_at: float
    body: bytes
    error: str
    failed_at: float


_enc = msgspec.msgpack.Encoder()
_dec_record = msgspec.msgpack.Decoder(_Record)
_dec_dead = msgspec.msgpack.Decoder(_DeadRecord)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _receipt(job: Job) -> tuple[str, str]:
    """A delivery's stream entry id and consumer."""
    entry, _, consumer = job.receipt.partition(" ")
    return entry, consumer


class RedisQueue:
    """Queues in Redis for many hosts; ``prefix`` separates deployments (and tests)."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "tracardi:") -> None:
        self._r = client
        self.keys = Keys(prefix)
        self._groups: set[str] = set()
        self._next_reclaim: dict[str, float] = {}
        self._enqueue = client.register_script(_scripts.ENQUEUE)
        self._promote = client.register_script(_scripts.PROMOTE)
        self._ack = client.register_script(_scripts.ACK)
        self._retry = client.register_script(_scripts.RETRY)
        self._dead = client.register_script(_scripts.DEAD)
        self._replay = client.register_script(_scripts.REPLAY)
        self._batch = Batcher(client)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "tracardi:") -> RedisQueue:
        """A queue on a client that retries a command on a broken connection (a Redis restart): every script
        here is safe to repeat (enqueue refuses a live id; a finish acts only while the delivery is pending)."""
        client = aioredis.Redis.from_url(
            url,
            decode_responses=False,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=30,
        )
        return cls(client, prefix=prefix)

    def __repr__(self) -> str:
        return f"RedisQueue(prefix={self.keys.prefix!r})"

    @property
    def client(self) -> aioredis.Redis:
        """The connection pool, for other adapters on the same Redis (leases)."""
        return self._r

    async def ping(self) -> None:
        try:
            await self._r.ping()
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc

    async def close(self) -> None:
        await self._batch.close()
        await self._r.aclose()

    # -- producing ------------------------------------------------------------------------------------------

    async def enqueue(self, queue: str, body: bytes, *, job_id: str, delay: float = 0.0) -> bool:
        k = self.keys
        now = time.time()
        record = _enc.encode(_Record(0, now, body))
        due = _ms(now + delay) if delay > 0 else 0
        added = await self._batch.call(
            self._enqueue, [k.jobs(queue), k.stream(queue), k.delayed(queue)], [job_id, record, due]
        )
        return bool(added)

    async def enqueue_many(self, queue: str, jobs: Sequence[tuple[str, bytes]]) -> int:
        k = self.keys
        keys = [k.jobs(queue), k.stream(queue), k.delayed(queue)]
        now = time.time()
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                for job_id, body in jobs:
                    await self._enqueue(keys, [job_id, _enc.encode(_Record(0, now, body)), 0], client=pipe)
                results = await pipe.execute()
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        return sum(1 for r in results if r)

    # -- consuming ------------------------------------------------------------------------------------------

    async def claim(self, queue: str, consumer: str, *, count: int, visibility: float, block: float = 0.0) -> list[Job]:
        if count < 1:
            return []
        await self._ensure_group(queue)
        deadline = time.monotonic() + max(block, 0.0)
        while True:
            jobs, wait = await self._claim_once(queue, consumer, count, visibility, deadline - time.monotonic())
            if jobs or time.monotonic() >= deadline or not wait:
                return jobs

    async def _claim_once(
        self, queue: str, consumer: str, count: int, visibility: float, block: float
    ) -> tuple[list[Job], bool]:
        """Promote due delayed jobs, take back expired claims, read new entries; whether to look again."""
        k = self.keys
        now = time.time()
        _, next_due = await self._call(
            self._promote, [k.jobs(queue), k.stream(queue), k.delayed(queue)], [_ms(now), _PROMOTE_BATCH]
        )
        jobs = await self._reclaim(queue, consumer, count, visibility, now)
        if len(jobs) >= count:
            return jobs, False
        again = False
        if float(next_due) > 0 and float(next_due) / 1000 - now < block:
            block, again = max(0.0, float(next_due) / 1000 - now), True
        try:
            reply: Any = await self._r.xreadgroup(
                GROUP,
                consumer,
                {k.stream(queue): ">"},
                count=count - len(jobs),
                block=_ms(block) if block >= 0.001 else None,
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # Redis restarted empty (or the stream was deleted): make the group again
                self._groups.discard(queue)
                await self._ensure_group(queue)
                return jobs, True
            raise StorageError(f"redis: {exc}") from exc
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        for _, entries in reply or ():
            jobs.extend(self._job(queue, consumer, entry_id, fields) for entry_id, fields in entries if fields)
        return jobs, again

    async def _reclaim(self, queue: str, consumer: str, count: int, visibility: float, now: float) -> list[Job]:
        """Entries claimed longer ago than ``visibility`` (their consumer died), checked a few times per timeout."""
        if now < self._next_reclaim.get(queue, 0.0):
            return []
        self._next_reclaim[queue] = now + max(_MIN_RECLAIM_EVERY, visibility / 4)
        try:
            reply = await self._r.xautoclaim(
                self.keys.stream(queue), GROUP, consumer, _ms(visibility), start_id="0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                self._groups.discard(queue)
                await self._ensure_group(queue)
                return []
            raise StorageError(f"redis: {exc}") from exc
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        entries = [(entry_id, fields) for entry_id, fields in reply[1] if fields]
        if not entries:
            return []
        deliveries = await self._deliveries(queue, consumer, entries[0][0], entries[-1][0])
        return [self._job(queue, consumer, e, f, deliveries.get(e, 1) - 1) for e, f in entries]

    async def _deliveries(self, queue: str, consumer: str, first: bytes, last: bytes) -> dict[bytes, int]:
        """How many times each entry of ``consumer`` in ``[first, last]`` was delivered (XPENDING's counter)."""
        try:
            pending = await self._r.xpending_range(
                self.keys.stream(queue), GROUP, min=first, max=last, count=10_000, consumername=consumer
            )
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        return {cast(bytes, item["message_id"]): int(item["times_delivered"]) for item in pending}

    def _job(self, queue: str, consumer: str, entry_id: bytes, fields: dict[bytes, bytes], redelivered: int = 0) -> Job:
        """A delivered entry; each earlier delivery of the entry that was never finished counts as an attempt."""
        record = _dec_record.decode(fields[b"r"])
        return Job(
            id=fields[b"i"].decode(),
            queue=queue,
            body=record.body,
            attempts=record.attempts + redelivered,
            enqueued_at=record.enqueued_at,
            receipt=f"{entry_id.decode()} {consumer}",
        )

    async def ack(self, job: Job) -> bool:
        k = self.keys
        entry, consumer = _receipt(job)
        done = await self._batch.call(
            self._ack, [k.stream(job.queue), k.jobs(job.queue)], [GROUP, entry, job.id, consumer]
        )
        return bool(done)

    async def retry(self, job: Job, *, delay: float, error: str) -> bool:
        k = self.keys
        q = job.queue
        now = time.time()
        record = _enc.encode(_Record(job.attempts + 1, job.enqueued_at, job.body))
        done = await self._batch.call(
            self._retry,
            [k.stream(q), k.jobs(q), k.delayed(q)],
            [GROUP, *_receipt(job)[:1], job.id, record, _ms(now + max(delay, 0.0)), _receipt(job)[1]],
        )
        return bool(done)

    async def dead_letter(self, job: Job, *, error: str) -> bool:
        k = self.keys
        q = job.queue
        now = time.time()
        record = _enc.encode(_DeadRecord(job.attempts + 1, job.enqueued_at, job.body, error, now))
        done = await self._batch.call(
            self._dead,
            [k.stream(q), k.jobs(q), k.dead(q), k.dead_order(q)],
            [GROUP, *_receipt(job)[:1], job.id, record, _ms(now), _receipt(job)[1]],
        )
        return bool(done)

    # -- dead letters and stats -----------------------------------------------------------------------------

    async def dead_letters(self, queue: str, *, limit: int = 100) -> list[DeadLetter]:
        k = self.keys
        try:
            ids: list[bytes] = await self._r.zrange(k.dead_order(queue), 0, max(limit, 1) - 1)  # type: ignore[assignment]
            records: list[bytes | None] = await self._r.hmget(k.dead(queue), ids) if ids else []  # type: ignore[assignment]
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        out = []
        for job_id, raw in zip(ids, records, strict=True):
            if raw is None:
                continue
            rec = _dec_dead.decode(raw)
            out.append(DeadLetter(job_id.decode(), queue, rec.body, rec.attempts, rec.error, rec.failed_at))
        return out

    async def replay(self, queue: str, job_id: str) -> bool:
        k = self.keys
        try:
            raw: bytes | None = await self._r.hget(k.dead(queue), job_id)  # type: ignore[assignment]
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        if raw is None:
            return False
        dead = _dec_dead.decode(raw)
        await self._ensure_group(queue)
        record = _enc.encode(_Record(0, time.time(), dead.body))
        keys = [k.dead(queue), k.dead_order(queue), k.jobs(queue), k.stream(queue)]
        return bool(await self._call(self._replay, keys, [job_id, record]))

    async def drop(self, queue: str, job_id: str) -> bool:
        k = self.keys
        try:
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hdel(k.dead(queue), job_id)
                pipe.zrem(k.dead_order(queue), job_id)
                removed, _ = await pipe.execute()
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        return bool(removed)

    async def stats(self, queue: str) -> QueueStats:
        k = self.keys
        stream = k.stream(queue)
        try:
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.xlen(stream)
                pipe.zcard(k.delayed(queue))
                pipe.zcard(k.dead_order(queue))
                pipe.xrange(stream, count=1)
                length, delayed, dead, first = await pipe.execute()
            pending = await self._pending(stream)
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        age = 0.0
        if first:
            age = max(0.0, time.time() - int(first[0][0].split(b"-")[0]) / 1000)
        return QueueStats(
            ready=max(0, int(length) - pending),
            in_flight=pending,
            delayed=int(delayed),
            dead=int(dead),
            oldest_age=age,
        )

    async def _pending(self, stream: str) -> int:
        try:
            summary = await self._r.xpending(stream, GROUP)
        except ResponseError:  # no such stream or group yet: nothing claimed
            return 0
        return int(summary["pending"])

    # -- internals ------------------------------------------------------------------------------------------

    async def _ensure_group(self, queue: str) -> None:
        if queue in self._groups:
            return
        try:
            await self._r.xgroup_create(self.keys.stream(queue), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise StorageError(f"redis: cannot create the group of {queue!r}: {exc}") from exc
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc
        self._groups.add(queue)

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except ResponseError as exc:
            raise StorageError(f"redis: {exc}") from exc
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc


if TYPE_CHECKING:

    def _conforms(queue: RedisQueue) -> Queue:
        return queue
