"""``migrate up`` as a job of ``migration:worker``: started and followed over the admin API, run by the workers.

The store is OpenSearch (osmem) and the queue Redis, as on a scale-out deployment; the indices were made by a
host with the default stored form, and the server runs with ``sortable = "any"``, so they need ``migrate up``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.conftest import Running, SettingsFactory, start_server
from tracardi.domain.common import Entity
from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.storage import EVENTS, PROFILES, Put
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.opensearch import OpenSearchDocumentStore, OpenSearchOptions
from tracardi.workers import WorkerOptions, WorkersOptions, run_workers

FAST = WorkersOptions(default=WorkerOptions(poll=0.05, visibility=30, backoff_min=0.05, max_tries=2))
MIGRATE = "/api/tasks/migration:worker"


@pytest.fixture
async def outdated(make_settings: SettingsFactory, osmem_url: str, redis_url: str) -> AsyncIterator[Running]:
    old = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="job"), ALL_INDICES)
    await old.migrate()
    events = [Event(id=f"e{i}", type="page-view", source=Entity(id="demo")) for i in range(12)]
    for i, ev in enumerate(events):
        ev.metadata.time.insert = datetime(2024, 5 + i % 2, 2, tzinfo=UTC)
    await old.bulk(
        [Put(EVENTS, e.id, e) for e in events] + [Put(PROFILES, f"p{i}", Profile(id=f"p{i}")) for i in range(7)]
    )
    await old.close()
    settings = make_settings(
        storage={"backend": "opensearch"},
        opensearch={"hosts": osmem_url, "prefix": "job", "sortable": "any"},
        redis={"url": redis_url, "prefix": f"tracardi-test-{uuid.uuid4().hex[:8]}:"},
    )
    async for running in start_server(settings):
        yield running


async def _work(app: Running) -> None:
    await asyncio.wait_for(run_workers(app.services.workers(), FAST, asyncio.Event(), burst=True), 60)


async def test_migrate_up_runs_as_a_job_with_progress_over_the_admin_api(outdated: Running) -> None:
    api = outdated.client
    before = (await api.get("/api/migrations", headers=outdated.admin)).json()["items"]
    behind = {item["alias"]: item for item in before if not item["up_to_date"]}
    assert {"job.profile", "job.event-2024.05", "job.event-2024.06"} <= set(behind)
    assert behind["job.profile"]["count"] == 7

    started = await api.post(MIGRATE, json={"kind": "migrate-up", "batch": 4}, headers=outdated.admin)
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    await _work(outdated)

    progress = (await api.get(f"{MIGRATE}/{job_id}", headers=outdated.admin)).json()
    assert progress["status"] == "done", progress
    assert progress["kind"] == "migrate-up" and progress["changed"] == len(behind)
    # every document copied in the first pass (the task's own progress record, written meanwhile, counts too)
    assert progress["total"] == progress["done"] >= sum(item["count"] for item in behind.values())
    after = (await api.get("/api/migrations", headers=outdated.admin)).json()["items"]
    assert all(item["up_to_date"] for item in after)
    current = {item["alias"]: item["current"] for item in after}
    assert (current["job.profile"], current["job.event-2024.05"]) == ("job.profile.v2", "job.event.v2-2024.05")
    assert (await api.get("/api/profiles/p3", headers=outdated.admin)).status_code == 200
    assert (await api.get("/api/events/e5", headers=outdated.admin)).json()["id"] == "e5"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"kind": "migrate-up", "batch": 0}', 422),
        (b'{"kind": "migrate-up", "batch": 10001}', 422),
        (b'{"kind": "migrate-up", "batch": "all"}', 422),
        (b'{"kind": "migrate-down"}', 422),
        (b'{"kind": "migrate-up"', 422),
        (b"\xff\xfe", 422),
        (b'{"kind": "migrate-up", "pad": "' + b"x" * 300_000 + b'"}', 413),
    ],
    ids=["zero-batch", "huge-batch", "string-batch", "unknown-kind", "truncated", "not-utf8", "oversized"],
)
async def test_a_bad_migration_request_is_refused_and_starts_nothing(
    outdated: Running, body: bytes, status: int
) -> None:
    r = await outdated.client.post(
        MIGRATE, content=body, headers={**outdated.admin, "content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    assert "detail" in r.json()
    queues = (await outdated.client.get("/api/queues", headers=outdated.admin)).json()
    assert queues["migration:worker"]["depth"] == 0, queues


async def test_progress_of_an_unknown_job_is_404_and_the_api_needs_the_token(outdated: Running) -> None:
    assert (await outdated.client.get(f"{MIGRATE}/nope", headers=outdated.admin)).status_code == 404
    assert (await outdated.client.get("/api/migrations")).status_code == 401
    assert (await outdated.client.post(MIGRATE, json={"kind": "migrate-up"})).status_code == 401


async def test_on_the_embedded_store_the_job_reports_every_table_current(server: Running) -> None:
    started = await server.client.post(MIGRATE, json={"kind": "migrate-up"}, headers=server.admin)
    assert started.status_code == 202
    await _work(server)
    progress = (await server.client.get(f"{MIGRATE}/{started.json()['job_id']}", headers=server.admin)).json()
    assert (progress["status"], progress["changed"]) == ("done", 0)
    items = (await server.client.get("/api/migrations", headers=server.admin)).json()["items"]
    assert {item["alias"] for item in items} >= {"profile", "event", "session"}
    assert all(item["up_to_date"] for item in items)


async def test_openapi_describes_the_migration_status(server: Running) -> None:
    paths = (await server.client.get("/openapi.json")).json()["paths"]
    assert "up_to_date" in str(paths["/api/migrations"]["get"]["responses"]["200"])
