"""Redis-specific promises: a message left in the processing list is recovered, a killed connection comes back."""

from __future__ import annotations

import uuid

import msgspec

from tests.bridges.conftest import Running, add_source, tracked, wait_until
from tests.bridges.harness import RedisListHarness, RedisStreamHarness, opened
from tracardi.domain.query import Eq
from tracardi.services import Services
from tracardi.storage import EVENTS, PROFILES, SESSIONS


def body(n: int) -> bytes:
    return msgspec.json.encode({"events": [{"type": "bridge-test", "properties": {"n": n}}]})


async def test_a_message_stored_but_not_acknowledged_is_not_tracked_twice(services: Services) -> None:
    async with opened(RedisListHarness) as h:
        await add_source(services, h.kind, h.config())
        running = Running(services)
        await h.publish([body(1)])
        await wait_until(lambda: _count(services, 1))
        await running.graceful()
        # a crash between the durable write and LREM leaves the message in the processing list
        await h.redis.lpush(f"{h.name}:processing:test", body(1))

        running = Running(services)
        await h.publish([body(2)])
        await wait_until(lambda: _count(services, 2))
        await wait_until(lambda: _empty(h, f"{h.name}:processing:test"))
        await running.graceful()

        assert await services.store.count(PROFILES) == 2
        duplicates = services.metrics.registry.get_sample_value(
            "tracardi_bridge_duplicates_total", {"source": "bridged", "kind": h.kind}
        )
        assert duplicates == 1


async def _count(services: Services, n: int) -> bool:
    return await tracked(services) == n


async def _empty(h: RedisListHarness, key: str) -> bool:
    return await h.redis.llen(key) == 0


async def test_a_killed_connection_is_reconnected_and_nothing_is_lost(services: Services) -> None:
    source = f"bridged-{uuid.uuid4().hex[:8]}"
    async with opened(RedisStreamHarness) as h:
        await add_source(services, h.kind, {**h.config(), "concurrency": 4}, source)
        running = Running(services)
        await h.publish([body(n) for n in range(300)])
        await wait_until(lambda: _at_least(services, 50))
        killed = 0
        for client in await h.redis.client_list():
            if client.get("name") == f"tracardi-bridge:{source}":
                await h.redis.client_kill_filter(_id=client["id"])
                killed += 1
        assert killed
        await wait_until(lambda: _count(services, 300))
        await running.graceful()
        reconnects = services.metrics.registry.get_sample_value(
            "tracardi_bridge_reconnects_total", {"source": source, "kind": h.kind}
        )
        assert reconnects and reconnects >= 1
        assert await services.store.count(PROFILES) == 300
        assert await services.store.count(EVENTS) >= 300


async def _at_least(services: Services, n: int) -> bool:
    return await tracked(services) >= n


async def test_a_mapped_foreign_message_is_tracked_with_its_fields(services: Services) -> None:
    async with opened(RedisListHarness) as h:
        mapping = {"event_type": "kind", "properties": "data", "session_id": "sid"}
        await add_source(services, h.kind, {**h.config(), "mapping": mapping})
        running = Running(services)
        await h.publish([msgspec.json.encode({"kind": "bridge-test", "data": {"n": 5}, "sid": "s-1"})])
        await wait_until(lambda: _count(services, 1))
        await running.graceful()
        page = await services.store.query(EVENTS, Eq(field="type", value="bridge-test"), limit=10)
        assert [(e.doc.properties, e.doc.session.id if e.doc.session else None) for e in page.items] == [
            ({"n": 5}, "s-1")
        ]
        assert await services.store.get(SESSIONS, "s-1") is not None


async def test_a_graceful_stop_finishes_what_is_in_flight(services: Services) -> None:
    async with opened(RedisListHarness) as h:
        await add_source(services, h.kind, {**h.config(), "concurrency": 16})
        running = Running(services)
        await h.publish([body(n) for n in range(200)])
        await wait_until(lambda: _at_least(services, 20))
        await running.graceful()
        # everything taken was tracked and acknowledged: nothing is left half-done in the processing list
        assert await h.redis.llen(f"{h.name}:processing:test") == 0
        assert await tracked(services) + await h.redis.llen(h.name) == 200


async def test_a_stream_entry_without_the_body_field_is_dead_lettered(services: Services) -> None:
    async with opened(RedisStreamHarness) as h:
        await add_source(services, h.kind, h.config())
        running = Running(services)
        await h.redis.xadd(h.name, {b"payload": b"{}"})
        await h.publish([body(1)])
        await wait_until(lambda: _count(services, 1))
        await wait_until(lambda: _dead_one(h))
        await running.graceful()
        assert await h.dead_letters() == [("entry has no `body` field", b"")]


async def _dead_one(h: RedisStreamHarness) -> bool:
    return len(await h.dead_letters()) == 1
