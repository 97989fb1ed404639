"""A worker process killed with SIGKILL in the middle of a ``migration:worker`` copy: the job is delivered again to
the next worker process, which resumes the copy where the dead one left it, switches and verifies.

Real processes (``python -m tracardi --role workers``) on OpenSearch (osmem) and Redis; the migration queue's
visibility is one second here, so the dead worker's job comes back quickly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tests.conftest import ADMIN_TOKEN, ROOT
from tracardi.domain.common import Entity
from tracardi.domain.event import Event
from tracardi.domain.messages import MIGRATION, MigrateUp
from tracardi.domain.tasks import TaskProgress
from tracardi.storage import EVENTS, TASKS, Put
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.opensearch import Migrations, OpenSearchDocumentStore, OpenSearchOptions
from tracardi.storage.redis import RedisQueue

CONFIG = """
[workers.queues."migration:worker"]
concurrency = 1
max_tries = 3
visibility = 1.0
poll = 0.05
"""
EVENTS_SEEDED = 400
JOB = "migrate-after-crash"


async def _progress(store: OpenSearchDocumentStore) -> TaskProgress | None:
    found = await store.get(TASKS, JOB)
    return None if found is None else found.doc


async def _wait(store: OpenSearchDocumentStore, done: object, what: str, seconds: float = 60) -> TaskProgress:
    for _ in range(int(seconds / 0.02)):
        progress = await _progress(store)
        if progress is not None and done(progress):  # type: ignore[operator]
            return progress
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}: {await _progress(store)}")


async def test_a_migration_whose_worker_was_killed_resumes_in_the_next_worker(
    tmp_path: Path, osmem_url: str, redis_url: str, redis_prefix: str
) -> None:
    old = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="crash"), ALL_INDICES)
    new = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="crash", sortable="any"), ALL_INDICES)
    queue = RedisQueue.from_url(redis_url, prefix=redis_prefix)
    config = tmp_path / "tracardi.toml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "TRACARDI_STORAGE_PATH": str(tmp_path / "data"),
        "TRACARDI_STORAGE_BACKEND": "opensearch",
        "TRACARDI_OPENSEARCH_HOSTS": osmem_url,
        "TRACARDI_OPENSEARCH_PREFIX": "crash",
        "TRACARDI_OPENSEARCH_SORTABLE": "any",
        "TRACARDI_REDIS_URL": redis_url,
        "TRACARDI_REDIS_PREFIX": redis_prefix,
        "TRACARDI_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRACARDI_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "tracardi", "--config", str(config), "--role", "workers"]
    worker = None
    try:
        await old.migrate()
        events = [Event(id=f"e{i:04}", type="page-view", source=Entity(id="web")) for i in range(EVENTS_SEEDED)]
        for ev in events:
            ev.metadata.time.insert = datetime(2024, 5, 2, tzinfo=UTC)
        assert all(r.ok for r in await old.bulk([Put(EVENTS, e.id, e) for e in events]))
        assert await queue.enqueue(MIGRATION, msgspec.json.encode(MigrateUp(batch=5)), job_id=JOB)

        worker = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
        await _wait(new, lambda p: p.done >= 50, "the first worker to copy some events")
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        state = {s.alias: s for s in await Migrations(new).status()}["crash.event-2024.05"]
        assert (state.current, state.pending) == ("crash.event.v1-2024.05", "crash.event.v2-2024.05")
        killed_at = (await _progress(new)).done  # type: ignore[union-attr]
        assert killed_at < EVENTS_SEEDED, "the worker died mid-copy"

        worker = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE)
        progress = await _wait(new, lambda p: p.status != "running" and p.started, "the job to run again and end")
        assert progress.status == "done", progress
        # the second run's first pass started after what the first had copied
        assert progress.done < progress.total
        state = {s.alias: s for s in await Migrations(new).status()}["crash.event-2024.05"]
        assert (state.current, state.up_to_date, state.count) == ("crash.event.v2-2024.05", True, EVENTS_SEEDED)
        assert await new.count(EVENTS) == EVENTS_SEEDED
        stats = await queue.stats(MIGRATION)
        assert (stats.depth, stats.dead) == (0, 0)
    finally:
        if worker is not None and worker.returncode is None:
            worker.terminate()
            _, err = await worker.communicate()
            assert worker.returncode == 0, err.decode()[-3000:]
        await queue.close()
        await old.close()
        await new.close()
