"""Queues for worker tests: the embedded one (fast) and the Redis one (real Redis, a key prefix per test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tracardi.storage import Queue
from tracardi.storage.embedded import SqliteDocumentStore, SqliteQueue
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.redis import RedisQueue


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = f"tracardi-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["embedded", "redis"])
async def queue(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, redis_prefix: str
) -> AsyncIterator[Queue]:
    if request.param == "redis":
        rq = RedisQueue.from_url(redis_url, prefix=redis_prefix)
        yield rq
        await rq.close()
        return
    store = SqliteDocumentStore(tmp_path / "w.db", ALL_INDICES, synchronous="NORMAL")
    await store.migrate()
    sq = SqliteQueue(store)
    await sq.migrate()
    yield sq
    await store.close()
