"""The queue contract bound to both adapters: embedded (SQLite) and Redis (Streams), plus adapter specifics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.storage.queue_contract import QueueContract, name  # noqa: F401 - the fixture is used by the suite
from tracardi.domain.source import EventSource
from tracardi.storage import SOURCES, Put
from tracardi.storage.embedded import SqliteDocumentStore, SqliteQueue
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.redis import RedisLeases, RedisQueue


class TestSqliteQueue(QueueContract):
    @pytest.fixture
    async def queue(self, tmp_path: Path) -> AsyncIterator[SqliteQueue]:
        store = SqliteDocumentStore(tmp_path / "q.db", ALL_INDICES, synchronous="NORMAL")
        await store.migrate()
        queue = SqliteQueue(store)
        await queue.migrate()
        yield queue
        await queue.close()
        await store.close()


class TestRedisQueue(QueueContract):
    @pytest.fixture
    async def queue(self, redis_url: str, redis_prefix: str) -> AsyncIterator[RedisQueue]:
        queue = RedisQueue.from_url(redis_url, prefix=redis_prefix)
        yield queue
        await queue.close()


async def test_redis_keys_all_carry_the_prefix(redis_url: str, redis_prefix: str) -> None:
    queue = RedisQueue.from_url(redis_url, prefix=redis_prefix)
    try:
        await queue.enqueue("q", b"x", job_id="a")
        await queue.enqueue("q", b"y", job_id="b", delay=60)
        (job,) = await queue.claim("q", "c", count=1, visibility=30)
        await queue.dead_letter(job, error="e")
        client = aioredis.Redis.from_url(redis_url)
        keys = sorted([k.decode() async for k in client.scan_iter(match=redis_prefix + "*")])
        await client.aclose()
        suffixes = [k.removeprefix(redis_prefix) for k in keys]
        assert suffixes == ["q:q:dead", "q:q:dead-order", "q:q:delayed", "q:q:jobs", "q:q:stream"]
    finally:
        await queue.close()


async def test_redis_leases_are_taken_once_until_they_expire(redis_url: str, redis_prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    leases = RedisLeases(client, prefix=redis_prefix)
    try:
        assert await leases.take("job@t1", 0.1)
        assert not await leases.take("job@t1", 0.1)
        assert await leases.take("job@t2", 0.1)
    finally:
        await client.aclose()


async def test_embedded_writes_and_follow_up_jobs_commit_together(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "o.db", ALL_INDICES, synchronous="NORMAL")
    await store.migrate()
    queue = SqliteQueue(store)
    await queue.migrate()
    try:
        source = EventSource(id="s1", type=["rest"])
        results = await queue.bulk_and_enqueue([Put(SOURCES, "s1", source)], "q", [("follow-1", b"x")])
        assert [r.ok for r in results] == [True]
        assert (await queue.stats("q")).ready == 1
        stale = Put(SOURCES, "s1", source, if_version=99)
        results = await queue.bulk_and_enqueue([Put(SOURCES, "s2", source), stale], "q", [("follow-2", b"y")])
        assert [r.ok for r in results] == [True, False]
        assert (await queue.stats("q")).ready == 1, "a failed write sends no follow-up"
        assert [j.id for j in await queue.claim("q", "c", count=5, visibility=30)] == ["follow-1"]
    finally:
        await store.close()
