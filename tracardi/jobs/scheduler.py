"""APScheduler's AsyncIOScheduler in our loop: one trigger per configured job, each firing calls the engine.

Every host computes the same scheduled time for a firing (cron times are absolute; interval times are aligned to
a fixed epoch), and ``JobService.run`` takes a lease on name + scheduled time, so a schedule fires once across
hosts. ``coalesce`` folds missed firings into one, and a firing later than ``misfire_grace`` is skipped: a missed
run is never run twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracardi.domain.jobs import JobSpec
from tracardi.engine.jobs import JobService, JobsOptions
from tracardi.log import get_logger

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
log = get_logger("jobs")


def trigger_of(spec: JobSpec) -> BaseTrigger:
    """The spec's trigger; ValueError for a bad cron expression."""
    if spec.cron.strip():
        return CronTrigger.from_crontab(spec.cron, timezone=UTC)
    return IntervalTrigger(seconds=spec.interval, start_date=EPOCH, timezone=UTC)


def scheduled_time(trigger: BaseTrigger, now: datetime, lookback: float) -> datetime:
    """The firing the scheduler is running now: the first fire time at or after ``now - lookback``.

    The same on every host for one firing, as long as each starts it within ``lookback`` of its time.
    """
    fire: datetime | None = trigger.get_next_fire_time(None, now - timedelta(seconds=lookback))
    return (fire or now).astimezone(UTC)


def build_scheduler(service: JobService, options: JobsOptions) -> AsyncIOScheduler:
    """A scheduler with one job per enabled definition (started by the caller)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    for spec in service.specs.values():
        if not spec.enabled:
            continue
        trigger = trigger_of(spec)
        lookback = min(options.misfire_grace, spec.interval / 2) if spec.interval > 0 else options.misfire_grace
        scheduler.add_job(
            _fire,
            trigger,
            args=[service, spec.name, trigger, lookback],
            id=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(options.misfire_grace)),
        )
    return scheduler


async def _fire(service: JobService, name: str, trigger: BaseTrigger, lookback: float) -> None:
    scheduled = scheduled_time(trigger, datetime.now(UTC), lookback)
    await service.run(name, scheduled)


async def run_jobs(
    service: JobService, options: JobsOptions, stop: asyncio.Event, *, drain_timeout: float = 10.0
) -> None:
    """The ``jobs`` role: schedule every enabled job until ``stop``, then let running jobs finish (bounded)."""
    scheduler = build_scheduler(service, options)
    scheduler.start()
    log.info("role_started", role="jobs", jobs=[job.id for job in scheduler.get_jobs()])
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        if not await service.wait_idle(drain_timeout):
            log.warning("jobs_still_running", detail="cut off by the drain timeout; their runs stay 'running'")
        log.info("role_stopped", role="jobs")
