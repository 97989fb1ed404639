"""``migrate up`` as a background task: run the store's migrator, recording its progress under the job id.

The record's ``total`` sums the document counts of the indices being upgraded, ``done`` the documents copied in
their first pass, ``changed`` the indices switched to a new version, and ``detail`` the last step. A job
redelivered after its worker died runs ``up`` again, which resumes the pending copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tracardi.domain.messages import MIGRATION, MigrateUp
from tracardi.domain.tasks import TaskProgress
from tracardi.engine._progress import run_recorded
from tracardi.storage import TASKS, DocumentStore, IndexStatus, MigrationStep, Migrator, StorageError


class MigrationTask:
    """Runs one ``migrate up`` and keeps its TaskProgress current."""

    def __init__(self, store: DocumentStore, migrator: Migrator, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._migrator = migrator
        self._clock = clock

    async def status(self) -> list[IndexStatus]:
        return await self._migrator.status()

    async def run(self, job_id: str, message: MigrateUp) -> TaskProgress:
        now = self._clock()
        record = TaskProgress(id=job_id, queue=MIGRATION, kind="migrate-up", started=now, updated=now)
        totals: dict[str, int] = {}
        copied: dict[str, int] = {}

        async def report(step: MigrationStep) -> None:
            totals[step.alias] = step.total
            if step.stage == "copy":
                copied[step.alias] = step.done
            record.total, record.done = sum(totals.values()), sum(copied.values())
            record.changed += step.stage == "switch"
            record.detail, record.updated = step.line(), self._clock()
            await self._store.put(TASKS, job_id, record)

        async def work() -> None:
            states = await self._migrator.up(report, batch=message.batch)
            behind = [state.alias for state in states if not state.up_to_date]
            if behind:
                raise StorageError(f"still outdated after migrate up: {', '.join(behind)}")
            record.detail = f"{len(states)} indices up to date, {record.changed} switched to a new version"

        await self._store.put(TASKS, job_id, record)
        return await run_recorded(self._store, record, self._clock, work)
