"""Scheduled jobs: what runs when (a definition), and what happened when it ran (a run record)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from tracardi.domain import tql
from tracardi.domain.query import And, Condition, Eq

JobKind = Literal["visit-end", "session-inactive", "profile-event", "live-segmentation", "trace-retention"]
MAX_BATCH = 10_000


class JobSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One scheduled job (``[[jobs.definitions]]``): a kind, a schedule (``interval`` seconds or ``cron``)."""

    name: str
    """Unique name; with the scheduled time it makes the run's id."""
    kind: JobKind
    """``visit-end``: emit ``visit-ended`` for sessions idle longer than ``idle`` seconds after visit-started.
    ``session-inactive``: register ``event_type`` (default ``session-inactive``) once for each session that was
    active within ``window`` seconds but not for the last ``idle`` seconds.
    ``profile-event``: register ``event_type`` (default ``heartbeat``) for every profile (in ``segment`` if given).
    ``live-segmentation``: for every enabled live segment, queue every profile on ``segmentation:live`` in jobs of
    ``batch`` profile ids.
    ``trace-retention``: delete the flow traces (debug runs) older than ``keep`` seconds."""
    source: str = ""
    """The event source the job's events are tracked through (rules and flows run on them as on any event)."""
    interval: float = 0.0
    """Seconds between runs (aligned to the epoch, so every host computes the same times)."""
    cron: str = ""
    """A crontab expression (minute hour day month weekday), UTC; instead of ``interval``."""
    idle: float = 1800.0
    """visit-end, session-inactive: seconds since the session's last update after which it qualifies."""
    window: float = 86400.0
    """session-inactive: only sessions updated within this many seconds are looked at (wider than the schedule's
    period, so no session falls between two runs)."""
    event_type: str = ""
    """profile-event, session-inactive: the event type registered (empty: the kind's default)."""
    segment: str = ""
    """profile-event: only profiles in this segment (empty: every profile)."""
    where: str = ""
    """profile-event: only profiles matching this TQL condition, e.g. ``profile@stats.visits > 3``."""
    batch: int = 100
    """live-segmentation: profile ids per ``segmentation:live`` job."""
    keep: float = 7 * 86400.0
    """trace-retention: seconds a flow trace is kept."""
    enabled: bool = True

    def check(self) -> str | None:
        """What is wrong with this definition, or None."""
        if not self.name.strip():
            return "a job needs a name"
        if (self.interval > 0) == bool(self.cron.strip()):
            return f"job {self.name!r}: give exactly one of interval (seconds > 0) or cron"
        if self.kind not in ("live-segmentation", "trace-retention") and not self.source.strip():
            return f"job {self.name!r}: a {self.kind} job needs the source its events are tracked through"
        if not 1 <= self.batch <= MAX_BATCH:
            return f"job {self.name!r}: batch must be 1 to {MAX_BATCH}"
        if self.kind in ("visit-end", "session-inactive") and self.idle <= 0:
            return f"job {self.name!r}: idle must be > 0"
        if self.kind == "session-inactive" and self.window <= self.idle:
            return f"job {self.name!r}: window must be longer than idle"
        if self.kind == "trace-retention" and self.keep <= 0:
            return f"job {self.name!r}: keep must be > 0 seconds"
        if self.where.strip():
            try:
                self.condition()
            except ValueError as exc:
                return f"job {self.name!r}: where: {exc}"
        return None

    def condition(self) -> Condition:
        """The profiles a profile-event job registers its event for; raises ValueError for a bad ``where``."""
        items: list[Condition] = [Eq(field="segments", value=self.segment)] if self.segment else []
        if self.where.strip():
            items.append(tql.to_query(tql.parse(self.where), "profile"))
        return items[0] if len(items) == 1 else And(items=tuple(items))

    @property
    def event(self) -> str:
        """The event type the job registers."""
        return self.event_type.strip() or ("session-inactive" if self.kind == "session-inactive" else "heartbeat")


class JobRun(msgspec.Struct, kw_only=True):
    """One run of a job: when it was due and ran, what it touched, how it ended."""

    id: str
    name: str
    scheduled: datetime
    started: datetime
    ended: datetime | None = None
    status: str = "running"
    """running, done or failed."""
    manual: bool = False
    profiles: int = 0
    """Profiles (or sessions, for visit-end; traces deleted, for trace-retention) the run touched."""
    errors: list[str] = []
    host: str = ""
