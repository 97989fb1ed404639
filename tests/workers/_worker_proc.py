"""A worker process for fault tests: consumes one Redis queue; the handler marks its start, then hangs.

Usage: python -m tests.workers._worker_proc <redis url> <key prefix> <queue> <marker file>
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import msgspec

from tracardi.storage import Job
from tracardi.storage.redis import RedisQueue
from tracardi.workers import Consumer, WorkerOptions


class Work(msgspec.Struct, frozen=True, kw_only=True, tag="work", tag_field="kind"):
    n: int


async def main(url: str, prefix: str, name: str, marker: str) -> None:
    queue = RedisQueue.from_url(url, prefix=prefix)

    async def handle(msg: Work, job: Job) -> None:
        # written aside and renamed: the test polls for the file and must never see it created but empty
        part = Path(marker).with_suffix(".part")
        await asyncio.to_thread(part.write_text, job.id)
        await asyncio.to_thread(part.replace, marker)
        await asyncio.sleep(3600)  # killed in the middle of the job

    options = WorkerOptions(concurrency=1, visibility=0.5, poll=0.05)
    await Consumer(queue, name, Work, handle, options, consumer="doomed").run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
