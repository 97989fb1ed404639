"""The end of a background task's progress record: done, or failed with the error, saved either way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tracardi.domain.tasks import TaskProgress
from tracardi.storage import TASKS, DocumentStore


async def run_recorded(
    store: DocumentStore, record: TaskProgress, clock: Callable[[], datetime], work: Callable[[], Awaitable[object]]
) -> TaskProgress:
    """Run ``work``, then save ``record`` as done; on an error (cancellation included) save it as failed and
    re-raise, so the queue retries the job."""
    try:
        await work()
    except BaseException as exc:
        record.status, record.error, record.ended = "failed", f"{type(exc).__name__}: {exc}"[:1000], clock()
        await store.put(TASKS, record.id, record)
        raise
    record.status, record.ended = "done", clock()
    await store.put(TASKS, record.id, record)
    return record
