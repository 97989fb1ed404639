"""The profiler's after-flows step on a real store: merges a flow asks for, and merges deferred on busy locks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import redis.asyncio as aioredis

from tests.conftest import Running
from tracardi.domain.identity import REQUEST_KEY, MergeKeys
from tracardi.domain.profile import Profile, new_profile
from tracardi.engine.profiling import Profiler, ProfilingOptions, ProfilingService
from tracardi.storage import PROFILES
from tracardi.storage.memory import InProcessLocks
from tracardi.storage.redis import RedisLocks

NOW = datetime(2025, 1, 1, tzinfo=UTC)


async def _stored(server: Running, profile_id: str, **traits: object) -> Profile:
    profile = new_profile(profile_id, NOW)
    profile.traits = dict(traits)
    await server.services.store.put(PROFILES, profile_id, profile)
    return profile


async def _after_flows(server: Running, profiler: Profiler, profile: Profile) -> bool:
    """The step as the tracker runs it: the survivor is written inside the block."""
    async with profiler.after_flows([], profile, None, NOW) as changed:
        if changed:
            await server.services.store.put(PROFILES, profile.id, profile)
    return changed


async def test_a_flow_asks_to_merge_on_a_path_that_is_not_a_merge_key(server: Running) -> None:
    store = server.services.store
    await _stored(server, "older", customer="C-1", tier="gold")
    await _stored(server, "unrelated", customer="C-2")
    profile = await _stored(server, "current", customer="C-1")
    profile.metadata.system[REQUEST_KEY] = ["traits.customer", "id"]  # "id" is not a path merges may use: ignored
    profiler = Profiler(ProfilingService(store), store, InProcessLocks())
    assert await _after_flows(server, profiler, profile)
    assert await store.get(PROFILES, "older") is None
    survivor = (await store.get(PROFILES, "current")).doc  # type: ignore[union-attr]
    assert set(survivor.ids) == {"current", "older"} and survivor.traits["tier"] == "gold"
    assert REQUEST_KEY not in survivor.metadata.system
    assert await store.get(PROFILES, "unrelated") is not None


async def test_a_merge_whose_locks_are_busy_is_deferred_to_the_next_track(server: Running) -> None:
    store, locks = server.services.store, InProcessLocks()
    profiling = ProfilingService(store)
    await profiling.set_merge_keys(MergeKeys(keys=["traits.email"]))
    profiler = Profiler(profiling, store, locks, ProfilingOptions(merge_lock_timeout=0.05))
    await _after_flows(server, profiler, await _stored(server, "first", email="x@example.com"))
    second = await _stored(server, "second", email="X@example.com")
    async with locks.hold("profile:first"):
        assert not await _after_flows(server, profiler, second)
    assert await store.get(PROFILES, "first") is not None
    assert await _after_flows(server, profiler, second)
    assert await store.get(PROFILES, "first") is None
    assert set((await store.get(PROFILES, "second")).doc.ids) == {"first", "second"}  # type: ignore[union-attr]


async def test_two_hosts_tracking_one_new_email_at_once_leave_one_profile(
    server: Running, redis_url: str, redis_prefix: str
) -> None:
    """Each host has its own process (its own RedisLocks); the merge-key lock in Redis serialises them."""
    store = server.services.store
    profiling = ProfilingService(store)
    await profiling.set_merge_keys(MergeKeys(keys=["traits.email"]))
    hosts = [RedisLocks(aioredis.Redis.from_url(redis_url), prefix=redis_prefix) for _ in range(2)]
    try:
        for n in range(5):
            a = await _stored(server, f"a{n}", email=f"person{n}@example.com")
            b = await _stored(server, f"b{n}", email=f"Person{n}@example.com")
            await asyncio.gather(
                *(
                    _after_flows(server, Profiler(profiling, store, locks), p)
                    for locks, p in zip(hosts, (a, b), strict=True)
                )
            )
            left = [p for p in (f"a{n}", f"b{n}") if await store.get(PROFILES, p) is not None]
            assert len(left) == 1, f"both hosts kept a profile with person{n}@example.com"
            survivor = (await store.get(PROFILES, left[0])).doc  # type: ignore[union-attr]
            assert set(survivor.ids) == {f"a{n}", f"b{n}"}
    finally:
        for locks in hosts:
            await locks._r.aclose()
