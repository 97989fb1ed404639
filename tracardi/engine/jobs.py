"""Scheduled jobs from the engine's side: their definitions, one run per schedule across hosts, run records.

A run's id is the job name plus its scheduled time; a run starts only for the first host that takes the lease of
that id (``Leases``: Redis ``SET NX PX`` across hosts, in-process on one machine), so N hosts running the
``jobs`` role fire each schedule once. The scheduler (``tracardi.jobs``) and the admin API both call ``run``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from tracardi.domain.errors import NotFoundError
from tracardi.domain.jobs import JobRun, JobSpec
from tracardi.domain.query import Eq, Range, Sort
from tracardi.engine.heartbeat import Heartbeat
from tracardi.engine.segmentation import LiveSegmentService
from tracardi.log import get_logger
from tracardi.storage import FLOW_TRACES, JOB_RUNS, DocumentStore, Leases

log = get_logger("jobs")


class JobsOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Scheduled jobs (section ``[jobs]``; each job a ``[[jobs.definitions]]`` table)."""

    definitions: list[JobSpec] = []
    misfire_grace: float = 30.0
    """Seconds a run may start late (a busy loop, a restart) and still run; later it is skipped, not repeated."""
    lease_ttl: float = 3600.0
    """Seconds the one-run-per-schedule lease lasts (longer than the longest gap between hosts' clocks)."""


class JobService:
    """Runs jobs by name, once per scheduled time, and keeps their run records."""

    def __init__(
        self,
        specs: list[JobSpec],
        store: DocumentStore,
        leases: Leases,
        heartbeat: Heartbeat,
        clock: Callable[[], datetime],
        *,
        lease_ttl: float = 3600.0,
        live_segments: LiveSegmentService | None = None,
    ) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self._store = store
        self._leases = leases
        self._heartbeat = heartbeat
        self._live_segments = live_segments
        self._clock = clock
        self._lease_ttl = lease_ttl
        self._host = socket.gethostname()
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def spec(self, name: str) -> JobSpec:
        spec = self.specs.get(name)
        if spec is None:
            raise NotFoundError(f"No job named `{name[:200]}`.")
        return spec

    async def run(self, name: str, scheduled: datetime, *, manual: bool = False) -> JobRun | None:
        """Run the job due at ``scheduled``; None when another host (or an earlier call) already took that run."""
        spec = self.spec(name)
        run_id = f"{name}@{scheduled.isoformat()}"
        if not await self._leases.take(f"job:{run_id}", self._lease_ttl):
            log.info("job_run_taken_elsewhere", job=name, run_id=run_id)
            return None
        self._running += 1
        self._idle.clear()
        try:
            return await self._run(spec, run_id, scheduled, manual)
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def wait_idle(self, limit: float) -> bool:
        """Wait up to ``limit`` seconds for running jobs to end; False when some still run."""
        try:
            async with asyncio.timeout(limit):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def _run(self, spec: JobSpec, run_id: str, scheduled: datetime, manual: bool) -> JobRun:
        name = spec.name
        record = JobRun(
            id=run_id, name=name, scheduled=scheduled, started=self._clock(), manual=manual, host=self._host
        )
        await self._store.put(JOB_RUNS, run_id, record)
        try:
            record.profiles = await self._execute(spec, record.errors)
            record.status = "done"
        except Exception as exc:
            record.status = "failed"
            record.errors.append(f"{type(exc).__name__}: {exc}"[:1000])
            log.exception("job_failed", job=name, run_id=run_id)
        record.ended = self._clock()
        record.errors = record.errors[:100]
        await self._store.put(JOB_RUNS, run_id, record)
        log.info("job_run", job=name, run_id=run_id, status=record.status, touched=record.profiles)
        return record

    async def _execute(self, spec: JobSpec, errors: list[str]) -> int:
        match spec.kind:
            case "visit-end":
                return await self._heartbeat.end_idle_visits(spec.source, spec.idle, errors)
            case "session-inactive":
                return await self._heartbeat.mark_inactive_sessions(
                    spec.source, spec.event, idle=spec.idle, window=spec.window, errors=errors
                )
            case "profile-event":
                return await self._heartbeat.profile_event(spec.source, spec.event, spec.condition(), errors)
            case "live-segmentation":
                if self._live_segments is None:
                    raise RuntimeError("live segmentation is not available in this process")
                return await self._live_segments.enqueue_all(spec.batch, errors)
            case "trace-retention":
                cutoff = self._clock() - timedelta(seconds=spec.keep)
                return await self._store.delete_where(FLOW_TRACES, Range(field="time", lt=cutoff))

    async def last_runs(self, name: str, limit: int = 10) -> list[JobRun]:
        """The job's most recent runs, newest first."""
        self.spec(name)
        page = await self._store.query(
            JOB_RUNS, Eq(field="name", value=name), sort=[Sort(field="started", desc=True)], limit=limit
        )
        return [item.doc for item in page.items]
