"""Redis locks on a real Redis: shared keys exclude across hosts, free themselves after a crash, free no other's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from tests.conftest import SettingsFactory
from tracardi.services import open_services
from tracardi.settings import SettingsError
from tracardi.storage import Unavailable
from tracardi.storage.memory import InProcessLocks
from tracardi.storage.redis import Keys, RedisLocks


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _hosts(redis_url: str, prefix: str, n: int, ttl: float = 30.0) -> list[RedisLocks]:
    """``n`` hosts: each its own client and in-process table, one Redis."""
    return [RedisLocks(aioredis.Redis.from_url(redis_url), prefix=prefix, ttl=ttl) for _ in range(n)]


async def _close(hosts: list[RedisLocks]) -> None:
    for host in hosts:
        await host._r.aclose()


async def test_a_merge_key_is_held_by_one_host_at_a_time(redis_url: str, redis_prefix: str) -> None:
    hosts = await _hosts(redis_url, redis_prefix, 3)
    inside: list[int] = []
    peak = 0

    async def work(host: RedisLocks, n: int) -> None:
        nonlocal peak
        async with host.hold("merge:email:x@example.com"):
            inside.append(n)
            peak = max(peak, len(inside))
            await asyncio.sleep(0.002)
            inside.remove(n)

    try:
        await asyncio.gather(*(work(hosts[n % 3], n) for n in range(30)))
    finally:
        await _close(hosts)
    assert peak == 1
    assert all(len(host._local) == 0 for host in hosts)


async def test_tracker_keys_stay_in_process(redis_url: str, redis_prefix: str, client: aioredis.Redis) -> None:
    """``profile:`` and ``session:`` keys cost no Redis round trip: two hosts may hold one at once (their writes are
    versioned), one host serialises them."""
    first, second = await _hosts(redis_url, redis_prefix, 2)
    try:
        async with first.hold("profile:p1"), second.hold("profile:p1"):
            assert [k async for k in client.scan_iter(match=redis_prefix + "*")] == []
        held = first.hold("profile:p1")
        await held.__aenter__()
        waiter = asyncio.create_task(first.hold("profile:p1").__aenter__())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        await held.__aexit__(None, None, None)
        await waiter
    finally:
        await _close([first, second])


async def test_a_key_a_crashed_host_held_frees_itself_after_the_ttl(
    redis_url: str, redis_prefix: str, client: aioredis.Redis
) -> None:
    name = Keys(redis_prefix).lock("merge:t")
    await client.set(name, b"token-of-a-dead-host", px=300)
    (host,) = await _hosts(redis_url, redis_prefix, 1)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with host.hold("merge:t"):
            waited = loop.time() - started
            assert await client.get(name) not in (None, b"token-of-a-dead-host")
        assert waited >= 0.2, "the key was taken while the dead host's lock was still there"
        assert await client.get(name) is None, "a released key is gone from Redis"
    finally:
        await _close([host])


async def test_a_holder_whose_lock_expired_does_not_release_the_next_holders(
    redis_url: str, redis_prefix: str, client: aioredis.Redis
) -> None:
    slow, other = await _hosts(redis_url, redis_prefix, 2, ttl=0.1)
    name = Keys(redis_prefix).lock("merge:t")
    try:
        async with slow.hold("merge:t"):
            await asyncio.sleep(0.2)  # outlives its ttl
            theirs = other.hold("merge:t")
            await theirs.__aenter__()
            token = await client.get(name)
        assert await client.get(name) == token, "the expired holder deleted the next holder's lock"
        await theirs.__aexit__(None, None, None)
        assert await client.get(name) is None
    finally:
        await _close([slow, other])


async def test_a_waiter_that_gives_up_leaves_nothing_behind(
    redis_url: str, redis_prefix: str, client: aioredis.Redis
) -> None:
    holder, waiter = await _hosts(redis_url, redis_prefix, 2)
    name = Keys(redis_prefix).lock("merge:t")
    try:
        async with holder.hold("merge:t"):
            token = await client.get(name)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.1):
                    await waiter.hold("merge:t").__aenter__()
            assert len(waiter._local) == 0
            assert await client.get(name) == token
        async with asyncio.timeout(5), waiter.hold("merge:t"):  # the key is free again for the one that gave up
            pass
    finally:
        await _close([holder, waiter])


async def test_redis_down_is_unavailable_and_releases_the_local_lock() -> None:
    locks = RedisLocks(aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5))
    try:
        with pytest.raises(Unavailable, match="redis"):
            async with locks.hold("merge:t"):
                pass
        assert len(locks._local) == 0
    finally:
        await locks._r.aclose()


def test_a_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ttl"):
        RedisLocks(aioredis.Redis(), ttl=0)


async def test_services_take_their_locks_from_redis_when_it_is_configured(
    make_settings: SettingsFactory, redis_url: str, redis_prefix: str
) -> None:
    async with open_services(make_settings(redis={"url": redis_url, "prefix": redis_prefix})) as svc:
        assert isinstance(svc.locks, RedisLocks)
    async with open_services(make_settings()) as svc:
        assert isinstance(svc.locks, InProcessLocks)
    with pytest.raises(SettingsError, match="lock_ttl"):
        async with open_services(make_settings(redis={"url": redis_url, "lock_ttl": 0})):
            pass
