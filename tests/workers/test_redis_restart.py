"""Redis restarted while the API tracks and a worker consumes: tracking goes on, the worker backs off and resumes.

Runs its own redis-server on a spare port (the shared one must not be restarted); skipped when none is installed.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator

import msgspec
import pytest

from tests.conftest import Running, SettingsFactory, free_port, payload, start_server
from tracardi.storage import Job
from tracardi.workers import Consumer, JobState, WorkerOptions

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (apt-get install redis-server)"
)


class Note(msgspec.Struct, frozen=True, kw_only=True, tag="note", tag_field="kind"):
    n: int


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        assert REDIS_SERVER is not None
        self.proc = await asyncio.create_subprocess_exec(
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
            stdout=asyncio.subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            except OSError:
                await asyncio.sleep(0.02)
        raise AssertionError("redis-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    redis = OwnRedis()
    await redis.start()
    yield redis
    await redis.stop()


@pytest.fixture
async def server(make_settings: SettingsFactory, own_redis: OwnRedis) -> AsyncIterator[Running]:
    async for running in start_server(make_settings(redis={"url": own_redis.url})):
        yield running


async def test_tracking_goes_on_and_workers_resume_after_a_redis_restart(server: Running, own_redis: OwnRedis) -> None:
    queue = server.services.queue
    done: list[int] = []

    async def handle(msg: Note, job: Job) -> None:
        done.append(msg.n)

    options = WorkerOptions(concurrency=2, poll=0.05, visibility=5, backoff_min=0.01)
    consumer = Consumer(queue, "test:restart", Note, handle, options)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await queue.enqueue("test:restart", msgspec.json.encode(Note(n=1)), job_id="before")
        await _until(lambda: done == [1])

        await own_redis.stop()
        assert (await server.track(payload())).status_code == 200, "tracking does not need Redis"
        ready = await server.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["queue"].startswith("unavailable")
        assert (await server.client.get("/metrics")).status_code == 200
        await asyncio.sleep(0.3)  # the consumer's claims fail meanwhile, and it backs off
        assert not task.done()

        await own_redis.start()
        await _until(lambda: _enqueued(queue), wait=10, poll=0.1)
        await _until(lambda: done == [1, 2], wait=10)
        assert (await server.client.get("/readyz")).status_code == 200
    finally:
        stop.set()
        await task
    assert consumer.counts[JobState.COMPLETE] == 2


async def _enqueued(queue: object) -> bool:
    try:
        await queue.enqueue("test:restart", msgspec.json.encode(Note(n=2)), job_id="after")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - Redis may still be reconnecting; the poll tries again
        return False
    return True


async def _until(check: object, wait: float = 5, poll: float = 0.02) -> None:
    for _ in range(int(wait / poll)):
        result = check()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(poll)
    raise AssertionError("condition not met in time")
