"""Faults the workers survive: a worker process killed with SIGKILL mid-job; its job is done once, elsewhere."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import msgspec
import pytest
import redis.asyncio as aioredis

from tests.conftest import ROOT
from tests.workers._poison_proc import OPTIONS, open_queue
from tests.workers._worker_proc import Work
from tracardi.storage import Job
from tracardi.storage.redis import RedisQueue
from tracardi.workers import Consumer, JobState, WorkerOptions


async def test_a_job_of_a_killed_worker_is_delivered_again_and_done_once(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    queue = RedisQueue.from_url(redis_url, prefix=redis_prefix)
    effects = aioredis.Redis.from_url(redis_url)
    marker = tmp_path / "started"
    try:
        await queue.enqueue("test:faults", msgspec.json.encode(Work(n=7)), job_id="job-7")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.workers._worker_proc",
            redis_url,
            redis_prefix,
            "test:faults",
            str(marker),
            cwd=ROOT,
        )
        for _ in range(400):
            if marker.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.025)
        assert marker.read_text() == "job-7", "the doomed worker took the job"
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL
        assert (await queue.stats("test:faults")).in_flight == 1

        async def handle(msg: Work, job: Job) -> None:
            # the effect is idempotent by job id: a repeat of the job changes nothing
            if await effects.set(f"{redis_prefix}effect:{job.id}", b"1", nx=True):
                await effects.incrby(f"{redis_prefix}total", msg.n)

        options = WorkerOptions(concurrency=2, visibility=0.5, poll=0.05)
        survivor = Consumer(queue, "test:faults", Work, handle, options, consumer="survivor")
        stop = asyncio.Event()
        task = asyncio.create_task(survivor.run(stop))
        for _ in range(200):
            if survivor.counts[JobState.COMPLETE]:
                break
            await asyncio.sleep(0.025)
        stop.set()
        await task
        assert survivor.counts[JobState.COMPLETE] == 1
        assert int(await effects.get(f"{redis_prefix}total") or 0) == 7
        stats = await queue.stats("test:faults")
        assert (stats.depth, stats.dead) == (0, 0)
    finally:
        await effects.aclose()
        await queue.close()


@pytest.mark.parametrize("backend", ["redis", "embedded"])
async def test_a_job_that_kills_its_worker_ends_in_the_dead_letters_after_the_retry_cap(
    backend: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """Each death is an attempt: after ``max_tries`` (3) deaths the next worker dead-letters the job unrun."""
    where = redis_url if backend == "redis" else str(tmp_path / "queue.db")
    runs = tmp_path / "runs"
    queue = await open_queue(where, redis_prefix)
    try:
        await queue.enqueue("test:poison", msgspec.json.encode(Work(n=1)), job_id="poison")
        for _ in range(OPTIONS.max_tries + 2):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.workers._poison_proc",
                where,
                redis_prefix,
                "test:poison",
                str(runs),
                cwd=ROOT,
            )
            for _ in range(400):  # until it dies by the job, or the job is dead-lettered
                if proc.returncode is not None or await queue.dead_letters("test:poison"):
                    break
                await asyncio.sleep(0.025)
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            if await queue.dead_letters("test:poison"):
                break
            await asyncio.sleep(OPTIONS.visibility)  # the dead worker's claim expires
        (dead,) = await queue.dead_letters("test:poison")
        assert dead.id == "poison" and "deliveries" in dead.error
        assert runs.read_text().split() == ["poison"] * OPTIONS.max_tries, "the handler ran max_tries times, no more"
        stats = await queue.stats("test:poison")
        assert (stats.depth, stats.dead) == (0, 1)
    finally:
        await queue.close()
