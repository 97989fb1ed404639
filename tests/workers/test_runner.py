"""The consumer loop: outcomes, retries with backoff, dead letters and replay, concurrency, graceful stop."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from tracardi.metrics import Metrics
from tracardi.storage import Job, Queue
from tracardi.workers import Abort, Consumer, JobState, Retry, WorkerOptions, backoff

FAST = WorkerOptions(concurrency=4, max_tries=3, backoff_min=0.01, backoff_max=0.05, visibility=5, poll=0.05)


class Ping(msgspec.Struct, frozen=True, kw_only=True, tag="ping", tag_field="kind"):
    n: int


enc = msgspec.json.Encoder()


async def put(queue: Queue, *ns: int) -> None:
    await queue.enqueue_many("test:q", [(f"job-{n}", enc.encode(Ping(n=n))) for n in ns])


async def test_jobs_complete_once_each(queue: Queue) -> None:
    await put(queue, *range(30))
    seen: list[int] = []

    async def handle(msg: Ping, job: Job) -> None:
        seen.append(msg.n)

    metrics = Metrics()
    consumer = Consumer(queue, "test:q", Ping, handle, FAST, metrics=metrics)
    await asyncio.wait_for(consumer.run(burst=True), 20)
    assert sorted(seen) == list(range(30))
    assert consumer.counts[JobState.COMPLETE] == 30
    assert (await queue.stats("test:q")).depth == 0
    assert b'tracardi_jobs_total{queue="test:q",state="complete"} 30.0' in metrics.render()


async def test_a_handler_that_always_raises_ends_in_dead_letters_with_its_error_and_replay_works(queue: Queue) -> None:
    await put(queue, 1)
    attempts: list[int] = []
    fixed = False

    async def handle(msg: Ping, job: Job) -> None:
        attempts.append(job.attempts)
        if not fixed:
            raise ValueError("always broken")

    consumer = Consumer(queue, "test:q", Ping, handle, FAST)
    await asyncio.wait_for(consumer.run(burst=True), 20)
    assert attempts == [0, 1, 2]
    assert (consumer.counts[JobState.RETRY], consumer.counts[JobState.FAILED]) == (2, 1)
    (dead,) = await queue.dead_letters("test:q")
    assert (dead.id, dead.attempts, dead.error) == ("job-1", 3, "ValueError: always broken")
    fixed = True
    await queue.replay("test:q", "job-1")
    await asyncio.wait_for(Consumer(queue, "test:q", Ping, handle, FAST).run(burst=True), 20)
    assert attempts[-1] == 0
    stats = await queue.stats("test:q")
    assert (stats.depth, stats.dead) == (0, 0)


async def test_abort_and_undecodable_messages_are_dead_at_once(queue: Queue) -> None:
    await put(queue, 1)
    await queue.enqueue("test:q", b'{"kind": "nope"}', job_id="garbage")

    async def handle(msg: Ping, job: Job) -> None:
        raise Abort("cannot ever work")

    consumer = Consumer(queue, "test:q", Ping, handle, FAST)
    await asyncio.wait_for(consumer.run(burst=True), 20)
    dead = {d.id: d.error for d in await queue.dead_letters("test:q")}
    assert dead["job-1"] == "aborted: cannot ever work"
    assert dead["garbage"].startswith("undecodable message:")


async def test_retry_with_defer_and_timeouts(queue: Queue) -> None:
    await put(queue, 1, 2)
    calls: dict[int, int] = {}

    async def handle(msg: Ping, job: Job) -> None:
        calls[msg.n] = calls.get(msg.n, 0) + 1
        if msg.n == 1 and job.attempts == 0:
            raise Retry("not yet", defer=0.02)
        if msg.n == 2 and job.attempts == 0:
            await asyncio.sleep(10)

    options = msgspec.structs.replace(FAST, timeout=0.1)
    consumer = Consumer(queue, "test:q", Ping, handle, options)
    await asyncio.wait_for(consumer.run(burst=True), 20)
    assert calls == {1: 2, 2: 2}
    assert consumer.counts[JobState.COMPLETE] == 2


def test_backoff_doubles_up_to_the_cap() -> None:
    options = WorkerOptions(backoff_min=1, backoff_max=10)
    assert [backoff(n, options) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert backoff(10_000, options) == 10


async def test_concurrency_is_bounded(queue: Queue) -> None:
    await put(queue, *range(12))
    running = 0
    peak = 0

    async def handle(msg: Ping, job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    consumer = Consumer(queue, "test:q", Ping, handle, msgspec.structs.replace(FAST, concurrency=3))
    await asyncio.wait_for(consumer.run(burst=True), 20)
    assert peak == 3
    assert consumer.counts[JobState.COMPLETE] == 12


@pytest.mark.parametrize("queue", ["embedded"], indirect=True)
async def test_stop_finishes_the_jobs_in_flight(queue: Queue) -> None:
    await put(queue, 1)
    started = asyncio.Event()
    finished: list[int] = []

    async def handle(msg: Ping, job: Job) -> None:
        started.set()
        await asyncio.sleep(0.1)
        finished.append(msg.n)

    stop = asyncio.Event()
    consumer = Consumer(queue, "test:q", Ping, handle, FAST)
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert finished == [1]
    assert (await queue.stats("test:q")).depth == 0
