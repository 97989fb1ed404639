"""The contract every bridge kind keeps, run against the real broker of each kind that answers here."""

from __future__ import annotations

import asyncio

import msgspec

from tests.bridges.conftest import EVENT_TYPE, Running, add_source, tracked, wait_until
from tests.bridges.harness import Harness
from tracardi.domain.query import Eq
from tracardi.services import Services
from tracardi.storage import EVENTS, PROFILES

N = 1000


def body(n: int, **top: object) -> bytes:
    return msgspec.json.encode({"events": [{"type": EVENT_TYPE, "properties": {"n": n}}], **top})


async def numbers_tracked(services: Services) -> list[int]:
    found: list[int] = []
    async for page in services.store.scan(EVENTS, Eq(field="type", value=EVENT_TYPE)):
        found.extend(item.doc.properties["n"] for item in page)
    return found


async def test_every_message_is_tracked_once_across_a_crash_and_restart(harness: Harness, services: Services) -> None:
    await add_source(services, harness.kind, {**harness.config(), "concurrency": 16, "prefetch": 64})
    first = Running(services)
    await first.connected(harness.kind)
    publishing = asyncio.create_task(harness.publish([body(n) for n in range(N)]))
    await wait_until(lambda: _at_least(services, N // 3))
    await first.crash()  # messages in flight were neither finished nor acknowledged
    assert await tracked(services) < N
    await publishing

    second = Running(services)
    await second.connected(harness.kind)
    await wait_until(lambda: _at_least(services, N))
    await second.graceful()

    numbers = await numbers_tracked(services)
    assert sorted(numbers) == list(range(N))  # each message once: no gap, no double
    assert await services.store.count(PROFILES) == N  # a message tracked twice would have made a second profile
    assert await harness.dead_letters() == []


async def _at_least(services: Services, n: int) -> bool:
    return await tracked(services) >= n


async def test_a_malformed_message_is_dead_lettered_and_the_next_goes_on(harness: Harness, services: Services) -> None:
    await add_source(services, harness.kind, {**harness.config(), "concurrency": 1})
    running = Running(services)
    await running.connected(harness.kind)
    await harness.publish([body(1), b"{not json", body(2)])
    await wait_until(lambda: _at_least(services, 2))
    await wait_until(lambda: _dead(harness, 1))
    if harness.kind != "mqtt":  # MQTT brokers do not tell a lag
        await wait_until(lambda: _lag_is_zero(services, harness.kind))
    await running.graceful()

    assert sorted(await numbers_tracked(services)) == [1, 2]
    [(reason, dead)] = await harness.dead_letters()
    assert dead == b"{not json"
    assert "not a /track body" in reason


async def _dead(harness: Harness, n: int) -> bool:
    return len(await harness.dead_letters()) >= n


async def _lag_is_zero(services: Services, kind: str) -> bool:
    lag = services.metrics.registry.get_sample_value("tracardi_bridge_lag", {"source": "bridged", "kind": kind})
    return lag == 0.0


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


HOSTILE: list[tuple[bytes, str]] = [
    (b"", "not a /track body"),
    (b"\xff\xfe\x00garbage", "not a /track body"),
    (b"[1, 2, 3]", "not a /track body"),
    (b'{"events": "page-view"}', "$.events"),
    (b'{"events": [{"type": ""}]}', "events.0.type"),
    (b'{"events": [{"type": "x"}], "profile": {"id": 12}}', "$.profile.id"),
    (msgspec.json.encode({"events": [{"type": "x", "properties": _nested(40)}]}), "nested deeper"),
    (msgspec.json.encode({"events": [{"type": "x"}] * 101}), "Too many events"),
    (msgspec.json.encode({"source": {"id": "someone-else"}, "events": [{"type": "x"}]}), "someone-else"),
    (b'{"events": [{"type": "x", "properties": {"pad": "' + b"a" * 2000 + b'"}}]}', "over max_bytes"),
]


async def test_broken_oversized_and_hostile_messages_are_dead_lettered_with_the_reason(
    harness: Harness, services: Services
) -> None:
    await add_source(services, harness.kind, {**harness.config(), "concurrency": 4, "max_bytes": 1500})
    running = Running(services)
    await running.connected(harness.kind)
    await harness.publish([bad for bad, _ in HOSTILE] + [body(7)])
    await wait_until(lambda: _dead(harness, len(HOSTILE)))
    await wait_until(lambda: _at_least(services, 1))
    await running.graceful()

    assert await numbers_tracked(services) == [7]
    dead = dict((body, reason) for reason, body in await harness.dead_letters())
    assert len(dead) == len(HOSTILE)
    for bad, expected in HOSTILE:
        assert expected in dead[bad], (bad[:40], dead[bad])
    assert await tracked(services, "x") == 0  # nothing of a refused message was stored
