"""The generic consumer loop of one queue: claim, decode, handle, then ack, retry with backoff, or dead-letter.

A job moves through named states (``JobState``): queued, in progress, then complete, retry (back on the queue
after an exponential backoff between ``backoff_min`` and ``backoff_max``), or failed (in the dead-letter list,
after ``max_tries`` attempts, a delivery whose worker died counting as one; at once for a message that cannot be
decoded or a handler raising ``Abort``).
Up to ``concurrency`` jobs run at once, each as a task kept in a set; finishing a job is shielded from
cancellation. ``run(stop)`` stops claiming when ``stop`` is set and lets running jobs finish (bounded by
``drain_timeout``; what is cut off is delivered again after the visibility timeout). ``burst=True`` returns once
the queue has nothing ready or delayed and nothing is running, which is how tests drive a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import msgspec

from tracardi.log import get_logger
from tracardi.metrics import Metrics
from tracardi.storage import Job, Queue, StorageError

M = TypeVar("M")
Handler = Callable[[M, Job], Awaitable[None]]
log = get_logger("workers")
_RECONNECT_MIN = 0.05  # seconds before claiming again after the queue backend failed; doubled up to the max
_RECONNECT_MAX = 5.0


class JobState(enum.StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    RETRY = "retry"
    FAILED = "failed"


class Retry(Exception):
    """Raised by a handler: try again after ``defer`` seconds (None: the backoff's delay)."""

    def __init__(self, reason: str = "retry", defer: float | None = None) -> None:
        super().__init__(reason)
        self.defer = defer


class Abort(Exception):
    """Raised by a handler: this job can never succeed; dead-letter it now."""


class WorkerOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How one queue is consumed (section ``[workers]``, and ``[workers.queues."<name>"]`` per queue)."""

    concurrency: int = 4
    """Jobs of this queue handled at once in one process."""
    max_tries: int = 5
    """Attempts before a job goes to the dead-letter list."""
    backoff_min: float = 1.0
    """Seconds before the first retry; doubled for each further one."""
    backoff_max: float = 300.0
    """Longest wait between retries."""
    visibility: float = 60.0
    """Seconds a claimed job stays invisible; a job its consumer did not finish by then is delivered again."""
    poll: float = 1.0
    """Longest wait of one claim for new jobs."""
    timeout: float = 300.0
    """A handler running longer is cancelled and its job retried."""


def consumer_name() -> str:
    """This process's name in the consumer groups: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff(attempts: int, options: WorkerOptions) -> float:
    """The wait before retry number ``attempts + 1``: exponential from ``backoff_min``, capped at ``backoff_max``."""
    return float(min(options.backoff_max, options.backoff_min * 2 ** min(attempts, 32)))


class Consumer(Generic[M]):
    """Consumes one queue with a handler of its message type."""

    def __init__(
        self,
        queue: Queue,
        name: str,
        message_type: Any,
        handler: Handler[M],
        options: WorkerOptions | None = None,
        *,
        consumer: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.queue = queue
        self.name = name
        self.options = options or WorkerOptions()
        self.consumer = consumer or consumer_name()
        # a Struct or a tagged union of Structs (a union is not a ``type`` to mypy, hence Any)
        self._decoder: msgspec.json.Decoder[M] = msgspec.json.Decoder(message_type)
        self._handler = handler
        self._metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()
        self.counts: dict[JobState, int] = dict.fromkeys(JobState, 0)
        self._claim_failures = 0  # in a row: the queue backend is down, back off until it answers again

    async def run(self, stop: asyncio.Event | None = None, *, burst: bool = False, drain_timeout: float = 10.0) -> None:
        """Claim and handle jobs until ``stop`` is set (or, in burst mode, the queue is empty); then drain."""
        stop = stop or asyncio.Event()
        log.info("consumer_started", queue=self.name, consumer=self.consumer, burst=burst)
        try:
            while not stop.is_set():
                free = self.options.concurrency - len(self._tasks)
                if free <= 0:
                    await self._wait_for_room(stop)
                    continue
                jobs = await self._claim(free, stop, burst)
                if jobs is None:
                    break
                for job in jobs:
                    self._start(job)
        finally:
            await self._drain(drain_timeout)
            log.info(
                "consumer_stopped",
                queue=self.name,
                consumer=self.consumer,
                **{k.value: v for k, v in self.counts.items()},
            )

    async def _claim(self, free: int, stop: asyncio.Event, burst: bool) -> list[Job] | None:
        """New jobs; None when the loop should end (stop set, or a burst with nothing left)."""
        block = 0.0 if burst else self.options.poll
        claiming = asyncio.ensure_future(
            self.queue.claim(self.name, self.consumer, count=free, visibility=self.options.visibility, block=block)
        )
        stopping = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({claiming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if claiming not in done:
            claiming.cancel()
            with contextlib.suppress(asyncio.CancelledError, StorageError):
                await claiming  # jobs it took are delivered again after the visibility timeout
            return None
        try:
            jobs = claiming.result()
        except StorageError as exc:
            self._claim_failures += 1
            pause = min(_RECONNECT_MAX, _RECONNECT_MIN * 2 ** min(self._claim_failures - 1, 16))
            log.warning("claim_failed", queue=self.name, error=str(exc), retry_in=pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            return []
        self._claim_failures = 0
        if jobs or not burst:
            return jobs
        if self._tasks:
            await self._wait_for_room(stop)
            return []
        stats = await self.queue.stats(self.name)
        if stats.ready + stats.delayed == 0:
            return None
        await asyncio.sleep(0.01)
        return []

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        self._room.clear()
        waiting = asyncio.ensure_future(self._room.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._process(job), name=f"job:{self.name}:{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._room.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("job_task_crashed", queue=self.name, error=repr(task.exception()))

    async def _drain(self, limit: float) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=limit)
        for task in pending:
            task.cancel("drain timeout: the job is delivered again after its visibility timeout")
        if pending:
            await asyncio.wait(pending)

    async def _process(self, job: Job) -> None:
        started = time.monotonic()
        state, error, delay = await self._attempt(job)
        if not await asyncio.shield(self._finish(job, state, error, delay)):
            return  # delivered again after the visibility timeout
        self.counts[state] += 1
        if self._metrics is not None:
            self._metrics.jobs.labels(self.name, state.value).inc()
        log.info(
            "job",
            queue=self.name,
            job_id=job.id,
            state=state.value,
            attempt=job.attempts + 1,
            seconds=round(time.monotonic() - started, 4),
            error=error or None,
        )

    async def _attempt(self, job: Job) -> tuple[JobState, str, float]:
        """Run the handler once: the state to finish in, the error text, and the retry delay."""
        if job.attempts >= self.options.max_tries:
            # every earlier delivery ended with its consumer gone (killed, or stuck past the visibility timeout):
            # running it again would take this worker down too
            return JobState.FAILED, f"gave up after {job.attempts} deliveries whose worker died before finishing", 0.0
        try:
            message = self._decoder.decode(job.body)
        except msgspec.DecodeError as exc:
            return JobState.FAILED, f"undecodable message: {exc}", 0.0
        try:
            async with asyncio.timeout(self.options.timeout):
                await self._handler(message, job)
        except Abort as exc:
            return JobState.FAILED, f"aborted: {exc}", 0.0
        except Retry as exc:
            return self._retry_or_fail(job, f"retry: {exc}", exc.defer)
        except TimeoutError:
            return self._retry_or_fail(job, f"timed out after {self.options.timeout}s", None)
        except Exception as exc:  # noqa: BLE001 - a job is a boundary: the error is logged, retried or dead-lettered
            return self._retry_or_fail(job, f"{type(exc).__name__}: {exc}", None)
        return JobState.COMPLETE, "", 0.0

    def _retry_or_fail(self, job: Job, error: str, defer: float | None) -> tuple[JobState, str, float]:
        if job.attempts + 1 >= self.options.max_tries:
            return JobState.FAILED, error, 0.0
        return JobState.RETRY, error, backoff(job.attempts, self.options) if defer is None else defer

    async def _finish(self, job: Job, state: JobState, error: str, delay: float) -> bool:
        """Record the outcome; False when it could not be recorded (the job stays claimed until it expires)."""
        try:
            match state:
                case JobState.COMPLETE:
                    owned = await self.queue.ack(job)
                case JobState.RETRY:
                    owned = await self.queue.retry(job, delay=delay, error=error[:2000])
                case _:
                    owned = await self.queue.dead_letter(job, error=error[:2000])
        except StorageError as exc:
            log.error("job_finish_failed", queue=self.name, job_id=job.id, state=state.value, error=str(exc))
            return False
        if not owned:
            log.warning("job_lost_claim", queue=self.name, job_id=job.id, state=state.value)
        return owned
