"""Bridge throughput per broker against the broker's raw consume rate with the same client, in one run.

    .venv/bin/python bench/bridges.py [--messages 5000] [--kinds redis-list,redis-stream,rabbitmq,mqtt,nats]
                                      [--concurrency 32] [--synchronous FULL]

For each broker kind whose server answers: the same N /track bodies (a page-view of one of 256 returning
sessions) are published twice. *raw* consumes one copy with the kind's client library directly (the reliable
pattern of the kind: BLMOVE/LMOVE + LREM, XREADGROUP + XACK, basic.consume + ack, QoS 1 subscription, pull fetch
+ ack), decoding nothing. *bridge* consumes the other through the bridges role into a real tracker on a fresh
embedded store (durability ``--synchronous``), acknowledging each message after its events are stored. Prints
messages/s and bridge/raw; and, since the tracker is what a bridge waits for, the tracker alone
(``Tracker.track`` on the same payloads and store settings, same concurrency) and bridge/tracker. Publishing
reuses the test harnesses (``tests/bridges/harness.py``), which create uniquely named queues and delete them
afterwards. Kafka is measured when TRACARDI_TEST_KAFKA answers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the test harnesses publish for us

from tests.bridges.harness import HARNESSES, Harness
from tracardi.bridges import BridgeConfig, BridgesOptions, Delivery, MessageDecoder, run_bridges
from tracardi.domain.source import EventSource
from tracardi.log import configure
from tracardi.services import open_services
from tracardi.settings import load_settings

RawConsumer = Callable[[Harness, int], Awaitable[None]]


def bodies(n: int) -> list[bytes]:
    return [
        msgspec.json.encode(
            {"session": {"id": f"bench-s{i % 256}"}, "events": [{"type": "page-view", "properties": {"n": i}}]}
        )
        for i in range(n)
    ]


async def raw_redis_list(h: Any, n: int) -> None:
    done, processing = 0, f"{h.name}:raw-processing"
    while done < n:
        async with h.redis.pipeline(transaction=False) as pipe:
            for _ in range(64):
                pipe.lmove(h.name, processing, "RIGHT", "LEFT")
            taken = [b for b in await pipe.execute() if b is not None]
        async with h.redis.pipeline(transaction=False) as pipe:
            for b in taken:
                pipe.lrem(processing, 1, b)
            await pipe.execute()
        done += len(taken)


async def raw_redis_stream(h: Any, n: int) -> None:
    await h.redis.xgroup_create(h.name, "raw", id="0", mkstream=True)
    done = 0
    while done < n:
        reply = await h.redis.xreadgroup("raw", "c", {h.name: ">"}, count=64, block=100)
        ids = [entry_id for entry_id, _ in reply[0][1]] if reply else []
        if ids:
            await h.redis.xack(h.name, "raw", *ids)
        done += len(ids)


async def raw_rabbitmq(h: Any, n: int) -> None:
    channel = await h._channel()
    await channel.set_qos(prefetch_count=64)
    queue = await channel.declare_queue(h.name, durable=True)
    finished = asyncio.Event()
    done = 0

    async def on_message(message: Any) -> None:
        nonlocal done
        await message.ack()
        done += 1
        if done >= n:
            finished.set()

    tag = await queue.consume(on_message)
    await finished.wait()
    await queue.cancel(tag)


async def raw_mqtt(h: Any, n: int) -> None:
    import aiomqtt

    done = 0
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"{h.name}-raw", clean_session=False) as client:
        await client.subscribe(h.topic, qos=1)
        publishing = asyncio.create_task(h.publish(bodies(n)))  # a new subscription only sees later messages
        async for _ in client.messages:
            done += 1
            if done >= n:
                break
        await publishing
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"{h.name}-raw", clean_session=True):
        pass


async def raw_nats(h: Any, n: int) -> None:
    sub = await h.js.pull_subscribe(h.subject, durable="raw", stream=h.stream)
    done = 0
    while done < n:
        for message in await sub.fetch(batch=64, timeout=1):
            await message.ack()
            done += 1


async def raw_kafka(h: Any, n: int) -> None:
    from aiokafka import AIOKafkaConsumer

    from tests.bridges.harness import KAFKA

    consumer = AIOKafkaConsumer(h.name, bootstrap_servers=KAFKA, group_id="raw", enable_auto_commit=False)
    await consumer.start()
    try:
        done = 0
        while done < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=64)
            for tp, records in batches.items():
                done += len(records)
                await consumer.commit({tp: records[-1].offset + 1})
    finally:
        await consumer.stop()


RAW: dict[str, RawConsumer] = {
    "redis-list": raw_redis_list,
    "redis-stream": raw_redis_stream,
    "rabbitmq": raw_rabbitmq,
    "mqtt": raw_mqtt,
    "nats": raw_nats,
    "kafka": raw_kafka,
}


async def measure_raw(cls: type[Harness], n: int) -> float:
    h = cls()
    await h.prepare()
    try:
        if cls.kind != "mqtt":
            await h.publish(bodies(n))
        started = time.perf_counter()
        await RAW[cls.kind](h, n)
        return n / (time.perf_counter() - started)
    finally:
        await h.close()


async def measure_bridge(cls: type[Harness], n: int, concurrency: int, synchronous: str) -> float:
    h = cls()
    await h.prepare()
    with tempfile.TemporaryDirectory(prefix="tracardi-bench-") as data:
        settings = load_settings(environ={}, storage={"path": data, "synchronous": synchronous}, log={"level": "error"})
        try:
            async with open_services(settings) as services:
                config = {**h.config(), "concurrency": concurrency, "prefetch": concurrency * 2}
                await services.sources.save(EventSource(id="bench", type=[cls.kind], config=config))
                if cls.kind != "mqtt":
                    await h.publish(bodies(n))
                options = BridgesOptions(poll=0.1, rescan=3600, lag_interval=3600)
                stop = asyncio.Event()
                started = time.perf_counter()
                task = asyncio.create_task(run_bridges(services.bridges(), options, stop))
                if cls.kind == "mqtt":  # the session must be subscribed before anything is published
                    await _until(lambda: _sample(services, "tracardi_bridge_connected", cls.kind) == 1)
                    await h.publish(bodies(n))
                await _until(lambda: _sample(services, "tracardi_bridge_consumed_total", cls.kind) >= n)
                elapsed = time.perf_counter() - started
                stop.set()
                await task
                return n / elapsed
        finally:
            await h.close()


async def measure_tracker(n: int, concurrency: int, synchronous: str) -> float:
    """The tracker alone on the same bodies and store settings: the ceiling a bridge can reach."""
    decoder = MessageDecoder("bench", BridgeConfig())  # as a bridge decodes them, with the same event ids
    payloads = [decoder.decode(Delivery(id=str(i), body=b, redelivered=False))[1] for i, b in enumerate(bodies(n))]
    with tempfile.TemporaryDirectory(prefix="tracardi-bench-") as data:
        settings = load_settings(environ={}, storage={"path": data, "synchronous": synchronous}, log={"level": "error"})
        async with open_services(settings) as services:
            await services.sources.save(EventSource(id="bench", type=["rest"]))
            queue = list(reversed(payloads))

            async def worker() -> None:
                while queue:
                    await services.tracker.track(queue.pop())

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return n / (time.perf_counter() - started)


def _sample(services: Any, name: str, kind: str) -> float:
    return services.metrics.registry.get_sample_value(name, {"source": "bench", "kind": kind}) or 0.0


async def _until(check: Callable[[], bool]) -> None:
    while not check():  # noqa: ASYNC110 - polling a metric: no event signals it
        await asyncio.sleep(0.01)


async def main(n: int, kinds: list[str], concurrency: int, synchronous: str) -> None:
    configure("console", "error")
    rows: list[tuple[str, float, float]] = []
    ceiling = await measure_tracker(n, concurrency, synchronous)
    for cls in HARNESSES:
        if cls.kind not in kinds:
            continue
        reason = cls.skip_reason()
        if reason:
            print(f"skipped {reason}")
            continue
        raw = await measure_raw(cls, n)
        bridge = await measure_bridge(cls, n, concurrency, synchronous)
        rows.append((cls.kind, bridge, raw))
    print(f"{n} messages per measurement; bridge concurrency {concurrency}; storage.synchronous = {synchronous}")
    print(f"tracker alone (Tracker.track, same bodies, {concurrency} at once): {ceiling:,.0f} msg/s")
    print(f"{'kind':14} {'bridge msg/s':>13} {'raw msg/s':>11} {'bridge/raw':>11} {'bridge/tracker':>15}")
    for kind, bridge, raw in rows:
        print(f"{kind:14} {bridge:13,.0f} {raw:11,.0f} {bridge / raw:11.2f} {bridge / ceiling:15.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--kinds", default=",".join(RAW))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.kinds.split(","), args.concurrency, args.synchronous))
