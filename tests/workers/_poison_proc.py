"""A worker process whose handler kills it: the poison job of the fault tests.

Usage: python -m tests.workers._poison_proc <redis url | sqlite file> <key prefix> <queue> <runs file>
Each run of the handler appends the job id to the runs file, then the process SIGKILLs itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.workers._worker_proc import Work
from tracardi.storage import Job, Queue
from tracardi.storage.embedded import SqliteDocumentStore, SqliteQueue
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.redis import RedisQueue
from tracardi.workers import Consumer, WorkerOptions

OPTIONS = WorkerOptions(concurrency=1, visibility=0.3, poll=0.05, max_tries=3)


async def open_queue(where: str, prefix: str) -> Queue:
    """The Redis queue at a redis:// url, else the embedded queue in that SQLite file."""
    if where.startswith("redis://"):
        return RedisQueue.from_url(where, prefix=prefix)
    store = SqliteDocumentStore(where, ALL_INDICES, synchronous="NORMAL")
    await store.migrate()
    queue = SqliteQueue(store)
    await queue.migrate()
    return queue


def _record(runs: str, job_id: str) -> None:
    with Path(runs).open("a") as out:
        out.write(f"{job_id}\n")


async def main(where: str, prefix: str, name: str, runs: str) -> None:
    queue = await open_queue(where, prefix)

    async def handle(msg: Work, job: Job) -> None:
        _record(runs, job.id)
        os.kill(os.getpid(), signal.SIGKILL)

    await Consumer(queue, name, Work, handle, OPTIONS, consumer=f"poisoned-{os.getpid()}").run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
