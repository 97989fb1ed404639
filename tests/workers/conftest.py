"""Queues for worker tests: the embedded one (fast) and the Redis one (real Redis, a key prefix per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tracardi.storage import Queue
from tracardi.storage.embedded import SqliteDocumentStore, SqliteQueue
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.redis import RedisQueue


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
