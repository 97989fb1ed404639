"""The Queue contract: what every adapter of the queue port must do, written only against the port.

Bind it by subclassing ``QueueContract`` with a ``queue`` fixture yielding an empty, ready Queue.
Each test uses its own queue name, and short visibility timeouts and delays, to stay fast.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tracardi.storage import Queue


@pytest.fixture
def name() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


class QueueContract:
    async def test_enqueue_claim_ack(self, queue: Queue, name: str) -> None:
        assert await queue.enqueue(name, b"hello", job_id="j1")
        (job,) = await queue.claim(name, "c1", count=10, visibility=30)
        assert (job.id, job.queue, job.body, job.attempts) == ("j1", name, b"hello", 0)
        assert job.enqueued_at == pytest.approx(time.time(), abs=5)
        assert await queue.ack(job)
        assert not await queue.ack(job), "a finished delivery cannot be finished twice"
        assert await queue.claim(name, "c1", count=10, visibility=30) == []
        assert (await queue.stats(name)).depth == 0

    async def test_a_live_job_id_is_refused_and_free_again_once_done(self, queue: Queue, name: str) -> None:
        assert await queue.enqueue(name, b"a", job_id="same")
        assert not await queue.enqueue(name, b"b", job_id="same")
        (job,) = await queue.claim(name, "c1", count=10, visibility=30)
        assert not await queue.enqueue(name, b"c", job_id="same"), "in flight is live too"
        await queue.ack(job)
        assert await queue.enqueue(name, b"d", job_id="same")

    async def test_claims_are_exclusive_and_in_order(self, queue: Queue, name: str) -> None:
        added = await queue.enqueue_many(name, [(f"j{i}", str(i).encode()) for i in range(20)])
        assert added == 20
        assert await queue.enqueue_many(name, [("j0", b"x"), ("new", b"y")]) == 1
        first = await queue.claim(name, "c1", count=8, visibility=30)
        second = await queue.claim(name, "c2", count=100, visibility=30)
        assert [j.body for j in first] == [str(i).encode() for i in range(8)]
        assert len(second) == 13
        assert not {j.id for j in first} & {j.id for j in second}
        stats = await queue.stats(name)
        assert (stats.ready, stats.in_flight) == (0, 21)

    async def test_claim_waits_for_a_job_up_to_block(self, queue: Queue, name: str) -> None:
        started = time.monotonic()
        assert await queue.claim(name, "c1", count=1, visibility=30, block=0.1) == []
        assert time.monotonic() - started >= 0.09

        async def later() -> None:
            await asyncio.sleep(0.05)
            await queue.enqueue(name, b"x", job_id="late")

        task = asyncio.create_task(later())
        jobs = await queue.claim(name, "c1", count=1, visibility=30, block=5)
        await task
        assert [j.id for j in jobs] == ["late"]

    async def test_a_delayed_job_is_due_after_its_delay(self, queue: Queue, name: str) -> None:
        assert await queue.enqueue(name, b"later", job_id="d", delay=0.2)
        assert await queue.claim(name, "c1", count=1, visibility=30) == []
        stats = await queue.stats(name)
        assert (stats.ready, stats.delayed, stats.depth) == (0, 1, 1)
        jobs = await queue.claim(name, "c1", count=1, visibility=30, block=2)
        assert [j.id for j in jobs] == ["d"]

    async def test_an_expired_claim_is_delivered_again_and_the_old_delivery_cannot_finish(
        self, queue: Queue, name: str
    ) -> None:
        await queue.enqueue(name, b"x", job_id="j")
        (lost,) = await queue.claim(name, "dead-consumer", count=1, visibility=0.1)
        await asyncio.sleep(0.15)
        jobs = await queue.claim(name, "c2", count=1, visibility=0.1, block=1)
        assert [j.id for j in jobs] == ["j"]
        assert not await queue.ack(lost), "the expired delivery no longer owns the job"
        assert await queue.ack(jobs[0])
        assert (await queue.stats(name)).depth == 0

    async def test_a_redelivery_after_an_expired_claim_counts_as_an_attempt(self, queue: Queue, name: str) -> None:
        """A consumer that dies mid-job used up an attempt, so a job that kills its worker reaches the cap."""
        await queue.enqueue(name, b"x", job_id="poison")
        await queue.enqueue(name, b"y", job_id="fine")
        seen = []
        for consumer in ("c1", "c2", "c3"):
            jobs = await queue.claim(name, consumer, count=2, visibility=0.1, block=1)
            seen.append(sorted((j.id, j.attempts) for j in jobs))
            for job in jobs:
                if job.id == "fine":
                    assert await queue.ack(job)
            await asyncio.sleep(0.15)
        assert seen == [[("fine", 0), ("poison", 0)], [("poison", 1)], [("poison", 2)]]
        (job,) = await queue.claim(name, "c4", count=1, visibility=0.1, block=1)
        assert await queue.retry(job, delay=0, error="failed at last")
        (job,) = await queue.claim(name, "c5", count=1, visibility=0.1, block=1)
        assert job.attempts == 4, "a retry after redeliveries counts them all"
        assert await queue.dead_letter(job, error="done")
        assert [d.attempts for d in await queue.dead_letters(name)] == [5]

    async def test_retry_counts_attempts_and_delays(self, queue: Queue, name: str) -> None:
        await queue.enqueue(name, b"x", job_id="j")
        (job,) = await queue.claim(name, "c1", count=1, visibility=30)
        assert await queue.retry(job, delay=0.1, error="boom")
        assert not await queue.retry(job, delay=0, error="again"), "one delivery is finished once"
        assert await queue.claim(name, "c1", count=1, visibility=30) == []
        (again,) = await queue.claim(name, "c1", count=1, visibility=30, block=2)
        assert (again.id, again.attempts, again.body) == ("j", 1, b"x")

    async def test_dead_letters_list_replay_and_drop(self, queue: Queue, name: str) -> None:
        await queue.enqueue_many(name, [("a", b"A"), ("b", b"B")])
        for job in await queue.claim(name, "c1", count=2, visibility=30):
            assert await queue.dead_letter(job, error=f"failed {job.id}")
        stats = await queue.stats(name)
        assert (stats.dead, stats.depth) == (2, 0)
        dead = await queue.dead_letters(name)
        assert [(d.id, d.body, d.attempts, d.error) for d in dead] == [
            ("a", b"A", 1, "failed a"),
            ("b", b"B", 1, "failed b"),
        ]
        assert dead[0].failed_at == pytest.approx(time.time(), abs=5)
        assert await queue.replay(name, "a")
        assert not await queue.replay(name, "a")
        assert await queue.drop(name, "b")
        assert not await queue.drop(name, "b")
        assert await queue.dead_letters(name) == []
        (job,) = await queue.claim(name, "c1", count=5, visibility=30)
        assert (job.id, job.body, job.attempts) == ("a", b"A", 0)

    async def test_stats_of_an_unknown_queue_are_zero(self, queue: Queue, name: str) -> None:
        stats = await queue.stats(name)
        assert (stats.depth, stats.dead, stats.oldest_age) == (0, 0, 0.0)
        assert await queue.dead_letters(name) == []
        assert not await queue.replay(name, "nope")

    async def test_oldest_age_grows(self, queue: Queue, name: str) -> None:
        await queue.enqueue(name, b"x", job_id="j")
        await asyncio.sleep(0.05)
        assert (await queue.stats(name)).oldest_age >= 0.04

    async def test_queues_are_separate(self, queue: Queue, name: str) -> None:
        await queue.enqueue(name, b"x", job_id="j")
        assert await queue.claim(name + ":other", "c1", count=1, visibility=30) == []
        assert await queue.enqueue(name + ":other", b"y", job_id="j")

    async def test_concurrent_consumers_take_each_job_once(self, queue: Queue, name: str) -> None:
        await queue.enqueue_many(name, [(f"j{i}", b"x") for i in range(200)])
        seen: list[str] = []

        async def consume(consumer: str) -> None:
            while jobs := await queue.claim(name, consumer, count=7, visibility=30):
                for job in jobs:
                    seen.append(job.id)
                    assert await queue.ack(job)

        await asyncio.gather(*(consume(f"c{i}") for i in range(4)))
        assert sorted(seen) == sorted(f"j{i}" for i in range(200))
