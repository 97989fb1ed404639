"""``import:worker``: run one slice of an import, then queue the next one (see ``tracardi.engine.imports``)."""

from __future__ import annotations

from tracardi.domain.messages import ImportData
from tracardi.engine.imports import ImportFailed, ImportService
from tracardi.storage import Job, VersionConflict
from tracardi.workers.runner import Abort, Retry, WorkerOptions


def slice_budget(options: WorkerOptions) -> float:
    """Seconds one slice may run: well inside the queue's visibility and the handler timeout, so a live slice is
    never delivered to a second worker."""
    return max(0.5, min(options.visibility, options.timeout) / 3)


class Imports:
    """Runs import slices; a failed source dead-letters the job (the import record says why)."""

    def __init__(self, imports: ImportService, options: WorkerOptions) -> None:
        self._imports = imports
        self._budget = slice_budget(options)

    async def __call__(self, message: ImportData, job: Job) -> None:
        try:
            outcome = await self._imports.run_slice(message, budget=self._budget)
        except ImportFailed as exc:
            raise Abort(str(exc)) from exc
        except VersionConflict as exc:
            raise Retry(f"the import moved on meanwhile: {exc}") from exc
        if outcome.next is not None:
            await self._imports.queue_slice(message.import_id, outcome.next, message.spec)
