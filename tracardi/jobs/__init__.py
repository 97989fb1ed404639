"""The ``jobs`` role: APScheduler in the loop, firing the configured jobs once per schedule across hosts."""

from tracardi.jobs.scheduler import build_scheduler, run_jobs, scheduled_time, trigger_of

__all__ = ["build_scheduler", "run_jobs", "scheduled_time", "trigger_of"]
