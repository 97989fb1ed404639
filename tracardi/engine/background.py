"""Background work from the engine's side: put messages on the work queues, and read the queues' state."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from tracardi.domain.errors import FieldError, InvalidInput, NotFoundError
from tracardi.domain.messages import DELAYED, QUEUES, DelayedCall, Message
from tracardi.metrics import Metrics
from tracardi.storage import DeadLetter, Queue, QueueStats


class Background:
    """Enqueue typed messages; ``later`` is the in-process interface of ``scheduler:delayed``."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        self._encoder = msgspec.json.Encoder()

    async def send(self, queue_name: str, message: Message, *, job_id: str | None = None, delay: float = 0.0) -> str:
        """Enqueue ``message``; returns the job id (a repeat of a live id is accepted once, silently)."""
        job_id = job_id or uuid.uuid4().hex
        await self._queue.enqueue(queue_name, self._encoder.encode(message), job_id=job_id, delay=delay)
        return job_id

    async def later(self, name: str, args: dict[str, object], *, delay: float, job_id: str | None = None) -> str:
        """Run the delayed callable ``name`` with ``args`` after ``delay`` seconds (a paused flow, a Result action)."""
        return await self.send(DELAYED, DelayedCall(name=name, args=dict(args)), job_id=job_id, delay=delay)


class QueueService:
    """What operators see of the queues: depths and ages, dead letters to list, replay or drop."""

    def __init__(self, queue: Queue, names: Sequence[str] = QUEUES, metrics: Metrics | None = None) -> None:
        self._queue = queue
        self.names = tuple(names)
        self._metrics = metrics

    def check_name(self, name: str) -> str:
        if name not in self.names:
            raise NotFoundError(f"Unknown queue `{name[:200]}`; queues are {', '.join(self.names)}.")
        return name

    async def stats(self) -> dict[str, QueueStats]:
        """Every queue's stats (also refreshes the queue gauges of /metrics)."""
        out = {name: await self._queue.stats(name) for name in self.names}
        if self._metrics is not None:
            for name, stats in out.items():
                self._metrics.queue_depth.labels(name).set(stats.depth)
                self._metrics.queue_oldest_age.labels(name).set(stats.oldest_age)
                self._metrics.queue_dead.labels(name).set(stats.dead)
        return out

    async def dead_letters(self, name: str, limit: int = 100) -> list[DeadLetter]:
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be from 1 to 1000.", [FieldError(["query", "limit"], "1 to 1000")])
        return await self._queue.dead_letters(self.check_name(name), limit=limit)

    async def replay(self, name: str, job_id: str) -> None:
        if not await self._queue.replay(self.check_name(name), job_id):
            raise NotFoundError(f"No dead letter `{job_id[:200]}` in queue `{name}`.")

    async def drop(self, name: str, job_id: str) -> None:
        if not await self._queue.drop(self.check_name(name), job_id):
            raise NotFoundError(f"No dead letter `{job_id[:200]}` in queue `{name}`.")
