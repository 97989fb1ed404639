"""Queue throughput of the Redis adapter against raw XADD/XREADGROUP/XACK on the same Redis, in one run.

    python bench/queues.py [--redis redis://127.0.0.1:6379/0] [--jobs 20000]

Enqueue: pipelined, 1,000 jobs per round trip (ours: the enqueue script, which also refuses duplicate ids; raw:
XADD). Consume, end to end: ours is the workers' Consumer (claim, decode the message, run a no-op handler, finish
with the ack script), with 1 and 8 consumers of concurrency 64 in this process; raw is XREADGROUP COUNT 64 plus
one pipelined XACK per batch, with 1 and 8 coroutines. Prints jobs/s and our share of raw. Keys get a unique
prefix and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import msgspec
import redis.asyncio as aioredis

from tracardi.log import configure
from tracardi.storage import Job
from tracardi.storage.redis import RedisQueue
from tracardi.workers import Consumer, JobState, WorkerOptions

BATCH = 1000


class Ping(msgspec.Struct, frozen=True, kw_only=True, tag="ping", tag_field="kind"):
    n: int


async def raw_enqueue(r: aioredis.Redis, stream: str, bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for i in range(0, len(bodies), BATCH):
        async with r.pipeline(transaction=False) as pipe:
            for body in bodies[i : i + BATCH]:
                pipe.xadd(stream, {b"b": body})
            await pipe.execute()
    return time.perf_counter() - started


async def raw_consume(r: aioredis.Redis, stream: str, total: int, consumers: int) -> float:
    await r.xgroup_create(stream, "g", id="0", mkstream=True)
    done = 0
    decoder = msgspec.json.Decoder(Ping)

    async def one(name: str) -> None:
        nonlocal done
        while done < total:
            reply = await r.xreadgroup("g", name, {stream: ">"}, count=64, block=100)
            if not reply:
                continue
            ids = [entry_id for entry_id, fields in reply[0][1] if decoder.decode(fields[b"b"])]
            await r.xack(stream, "g", *ids)
            done += len(ids)

    started = time.perf_counter()
    await asyncio.gather(*(one(f"c{i}") for i in range(consumers)))
    return time.perf_counter() - started


async def ours_enqueue(queue: RedisQueue, name: str, bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for i in range(0, len(bodies), BATCH):
        await queue.enqueue_many(name, [(f"j{i + k}", body) for k, body in enumerate(bodies[i : i + BATCH])])
    return time.perf_counter() - started


async def ours_consume(queue: RedisQueue, name: str, total: int, consumers: int) -> float:
    stop = asyncio.Event()
    handled = 0

    async def handle(msg: Ping, job: Job) -> None:
        nonlocal handled
        handled += 1
        if handled >= total:
            stop.set()

    options = WorkerOptions(concurrency=64, poll=0.1, visibility=60)
    workers = [Consumer(queue, name, Ping, handle, options, consumer=f"c{i}") for i in range(consumers)]
    started = time.perf_counter()
    await asyncio.gather(*(w.run(stop) for w in workers))
    elapsed = time.perf_counter() - started
    assert sum(w.counts[JobState.COMPLETE] for w in workers) == total, "every job is finished once"
    return elapsed


async def main(url: str, jobs: int) -> None:
    configure("console", "warning")
    prefix = f"tracardi-bench:{uuid.uuid4().hex[:8]}:"
    r = aioredis.Redis.from_url(url)
    queue = RedisQueue(r, prefix=prefix)
    bodies = [msgspec.json.encode(Ping(n=i)) for i in range(jobs)]
    rows: list[tuple[str, float, float]] = []
    try:
        for consumers in (1, 8):
            raw_stream = f"{prefix}raw:{consumers}"
            ours_name = f"bench:{consumers}"
            t_raw_enq = await raw_enqueue(r, raw_stream, bodies)
            t_ours_enq = await ours_enqueue(queue, ours_name, bodies)
            if consumers == 1:
                rows.append(("enqueue (pipelined)", jobs / t_ours_enq, jobs / t_raw_enq))
            t_raw = await raw_consume(r, raw_stream, jobs, consumers)
            t_ours = await ours_consume(queue, ours_name, jobs, consumers)
            rows.append((f"consume end to end, {consumers} consumer(s)", jobs / t_ours, jobs / t_raw))
    finally:
        keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await r.delete(*keys)
        await r.aclose()
    print(f"{jobs} small jobs per measurement, Redis at {url}")
    print(f"{'':38} {'ours jobs/s':>12} {'raw jobs/s':>12} {'ours/raw':>9}")
    for label, ours, raw in rows:
        print(f"{label:38} {ours:12,.0f} {raw:12,.0f} {ours / raw:9.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--jobs", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.redis, args.jobs))
