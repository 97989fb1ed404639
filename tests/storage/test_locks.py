"""In-process keyed locks: exclusion per key, independence across keys, nothing left behind."""

from __future__ import annotations

import asyncio

import pytest

from tracardi.storage.memory import InProcessLocks


async def test_one_holder_per_key_and_keys_are_independent() -> None:
    locks = InProcessLocks()
    inside: list[str] = []
    peak = 0

    async def work(key: str) -> None:
        nonlocal peak
        async with locks.hold(key):
            inside.append(key)
            peak = max(peak, inside.count("a"))
            await asyncio.sleep(0.001)
            inside.remove(key)

    await asyncio.gather(*(work("a") for _ in range(20)), *(work(f"k{i}") for i in range(20)))
    assert peak == 1
    assert len(locks) == 0


async def test_cancelled_waiter_and_failing_holder_release_the_key() -> None:
    locks = InProcessLocks()
    async with locks.hold("a"):
        waiter = asyncio.create_task(locks.hold("a").__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    assert len(locks) == 0
    with pytest.raises(RuntimeError):
        async with locks.hold("b"):
            raise RuntimeError("boom")
    assert len(locks) == 0
