"""Long background tasks: run one with its progress kept under the job id, and read that progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tracardi.domain.errors import NotFoundError
from tracardi.domain.messages import EVENT_PROPS_TO_TRAITS, CopyEventPropsToTraitsWhere, MigrateUp
from tracardi.domain.tasks import TaskProgress
from tracardi.engine._progress import run_recorded
from tracardi.engine.migration import MigrationTask
from tracardi.engine.traits import Progress, copy_props_where, events_where
from tracardi.storage import TASKS, DocumentStore, IndexStatus, Migrator


class TaskService:
    """Runs long tasks (the traits copy, the events-to-profiles copy, ``migrate up``) with progress records, and
    answers progress by job id."""

    def __init__(self, store: DocumentStore, clock: Callable[[], datetime], migrator: Migrator | None = None) -> None:
        self._store = store
        self._clock = clock
        self._migration = None if migrator is None else MigrationTask(store, migrator, clock)

    def _migrator(self) -> MigrationTask:
        if self._migration is None:
            raise NotFoundError("This process has no schema migrator.")
        return self._migration

    async def migrate_up(self, job_id: str, message: MigrateUp) -> TaskProgress:
        """``migrate up`` with its progress under ``job_id`` (the ``migration:worker`` job)."""
        return await self._migrator().run(job_id, message)

    async def migration_status(self) -> list[IndexStatus]:
        """Which version serves each index and whether it needs ``migrate up``."""
        return await self._migrator().status()

    async def progress(self, job_id: str) -> TaskProgress:
        found = await self._store.get(TASKS, job_id)
        if found is None:
            raise NotFoundError(f"No task `{job_id[:200]}`.")
        return found.doc

    async def copy_props_where(self, job_id: str, message: CopyEventPropsToTraitsWhere) -> TaskProgress:
        where = events_where(message.event_type, message.since, message.until)
        return await self.run(
            job_id,
            EVENT_PROPS_TO_TRAITS,
            "copy-props",
            lambda report: copy_props_where(self._store, where, message.fields, report),
        )

    async def run(self, job_id: str, queue: str, kind: str, work: Callable[[Progress], Awaitable[int]]) -> TaskProgress:
        """Run ``work`` with a progress record under the job id, updated at each report and when it ends."""
        now = self._clock()
        record = TaskProgress(id=job_id, queue=queue, kind=kind, started=now, updated=now)

        async def report(total: int, done: int, changed: int) -> None:
            record.total, record.done, record.changed, record.updated = total, done, changed, self._clock()
            await self._store.put(TASKS, job_id, record)

        return await run_recorded(self._store, record, self._clock, lambda: work(report))
