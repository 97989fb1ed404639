"""Admin API of queues and jobs, with broken, oversized and hostile input; queue gauges in /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from tests.conftest import Running, SettingsFactory, start_server
from tracardi.domain.messages import DESTINATIONS, EVENT_PROPS_TO_TRAITS

JOBS = {"definitions": [{"name": "visit-end", "kind": "visit-end", "source": "demo", "interval": 3600, "idle": 60}]}


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[Running]:
    async for running in start_server(make_settings(jobs=JOBS)):
        yield running


async def dead_letter(server: Running, job_id: str, body: bytes = b'{"kind": "x"}') -> None:
    queue = server.services.queue
    await queue.enqueue(DESTINATIONS, body, job_id=job_id)
    (job,) = await queue.claim(DESTINATIONS, "test", count=1, visibility=30)
    await queue.dead_letter(job, error="boom")


async def test_queue_depths_and_metrics(server: Running) -> None:
    await server.services.queue.enqueue(EVENT_PROPS_TO_TRAITS, b"{}", job_id="a")
    r = await server.client.get("/api/queues", headers=server.admin)
    assert r.status_code == 200
    body = r.json()
    assert body[EVENT_PROPS_TO_TRAITS]["depth"] == 1 and body[EVENT_PROPS_TO_TRAITS]["ready"] == 1
    assert body[DESTINATIONS]["depth"] == 0
    metrics = (await server.client.get("/metrics")).text
    assert f'tracardi_queue_depth{{queue="{EVENT_PROPS_TO_TRAITS}"}} 1.0' in metrics
    assert "tracardi_queue_oldest_age_seconds" in metrics


async def test_dead_letters_list_replay_drop(server: Running) -> None:
    await dead_letter(server, "j1")
    await dead_letter(server, "j/2 ü", b"\xff\xfe not json")
    r = await server.client.get(f"/api/queues/{DESTINATIONS}/dead", headers=server.admin)
    items = {i["id"]: i for i in r.json()["items"]}
    assert items["j1"]["message"] == {"kind": "x"} and items["j1"]["error"] == "boom"
    assert items["j/2 ü"]["message"] is None and "not json" in items["j/2 ü"]["raw"]
    r = await server.client.post(f"/api/queues/{DESTINATIONS}/dead/j1/replay", headers=server.admin)
    assert r.status_code == 200 and r.json() == {"replayed": "j1", "queue": DESTINATIONS}
    assert (await server.services.queue.stats(DESTINATIONS)).ready == 1
    r = await server.client.delete(f"/api/queues/{DESTINATIONS}/dead/{quote('j/2 ü')}", headers=server.admin)
    assert r.status_code == 200
    r = await server.client.post(f"/api/queues/{DESTINATIONS}/dead/j1/replay", headers=server.admin)
    assert r.status_code == 404
    assert (await server.client.get(f"/api/queues/{DESTINATIONS}/dead", headers=server.admin)).json() == {"items": []}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/queues/nope/dead", 404),
        ("GET", "/api/queues/%00%FF/dead", 404),
        ("GET", f"/api/queues/{DESTINATIONS}/dead?limit=0", 422),
        ("GET", f"/api/queues/{DESTINATIONS}/dead?limit=-1", 422),
        ("GET", f"/api/queues/{DESTINATIONS}/dead?limit=99999999999999999999", 422),
        ("GET", f"/api/queues/{DESTINATIONS}/dead?limit=abc", 422),
        ("POST", f"/api/queues/{DESTINATIONS}/dead/{'x' * 5000}/replay", 422),
        ("DELETE", f"/api/queues/{DESTINATIONS}/dead/{'x' * 5000}", 422),
        ("POST", f"/api/queues/{DESTINATIONS}/dead/missing/replay", 404),
        ("DELETE", f"/api/queues/{DESTINATIONS}/dead/..%2F..%2Fetc", 404),
        ("POST", "/api/queues/nope/dead/x/replay", 404),
        ("POST", "/api/jobs/nope/run", 404),
        ("GET", "/api/jobs/nope/runs", 404),
        ("GET", "/api/jobs/visit-end/runs?limit=101", 422),
        ("POST", "/api/jobs/%3Cscript%3E/run", 404),
        ("GET", "/api/queues", 401),
    ],
)
async def test_hostile_and_broken_input(server: Running, method: str, path: str, status: int) -> None:
    headers = {} if status == 401 else server.admin
    r = await server.client.request(method, path, headers=headers, content=b"\x00" * 2048)
    assert r.status_code == status, r.text
    assert "detail" in r.json()
    assert r.headers["content-type"].startswith("application/json")


async def test_oversized_bodies_are_ignored_or_refused_without_harm(server: Running) -> None:
    r = await server.client.post("/api/jobs/visit-end/run", headers=server.admin, content=b"x" * 2_000_000)
    assert r.status_code in (200, 413)


async def test_jobs_listing_and_run_now(server: Running) -> None:
    r = await server.client.get("/api/jobs", headers=server.admin)
    (item,) = r.json()["items"]
    assert item["definition"]["name"] == "visit-end" and item["last_run"] is None
    r = await server.client.post("/api/jobs/visit-end/run", headers=server.admin)
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["manual"] is True
    r = await server.client.get("/api/jobs", headers=server.admin)
    assert r.json()["items"][0]["last_run"]["status"] == "done"
    r = await server.client.get("/api/jobs/visit-end/runs", headers=server.admin)
    assert len(r.json()["items"]) == 1


async def test_start_a_task(server: Running) -> None:
    body = {"kind": "copy-event-props-to-traits", "event_ids": ["e1"], "fields": {"a": "b"}}
    r = await server.client.post(f"/api/tasks/{EVENT_PROPS_TO_TRAITS}", headers=server.admin, json=body)
    assert r.status_code == 202 and r.json()["queue"] == EVENT_PROPS_TO_TRAITS
    assert (await server.services.queue.stats(EVENT_PROPS_TO_TRAITS)).ready == 1


@pytest.mark.parametrize(
    ("queue", "content", "status"),
    [
        (EVENT_PROPS_TO_TRAITS, b"{not json", 422),
        (EVENT_PROPS_TO_TRAITS, b'{"kind": "send-to-webhook", "destination": "d", "url": "http://x"}', 422),
        (EVENT_PROPS_TO_TRAITS, b'{"kind": "copy-event-props-to-traits", "event_ids": "e1"}', 422),
        (EVENT_PROPS_TO_TRAITS, b'{"kind": "copy-event-props-to-traits"}', 422),
        (EVENT_PROPS_TO_TRAITS, b"\xff\xfe\x00", 422),
        (EVENT_PROPS_TO_TRAITS, b"[" * 100_000, 422),
        (
            EVENT_PROPS_TO_TRAITS,
            b'{"kind": "copy-event-props-to-traits", "event_ids": ["' + b"x" * 300_000 + b'"]}',
            413,
        ),
        (
            EVENT_PROPS_TO_TRAITS,
            b'{"kind": "copy-event-props-to-traits", "event_ids": [' + b",".join([b'"a"'] * 10_001) + b"]}",
            422,
        ),
        ("segmentation:live", b"{}", 404),
        ("../../etc", b"{}", 404),
    ],
)
async def test_tasks_refuse_broken_input(server: Running, queue: str, content: bytes, status: int) -> None:
    r = await server.client.post(f"/api/tasks/{quote(queue, safe='')}", headers=server.admin, content=content)
    assert r.status_code == status, r.text
    assert (await server.services.queue.stats(EVENT_PROPS_TO_TRAITS)).depth == 0


async def test_task_progress_by_job_id(server: Running) -> None:
    body = {"kind": "copy-event-props-to-traits-where", "event_type": "purchase", "since": "2020-01-01T00:00:00Z"}
    r = await server.client.post(f"/api/tasks/{EVENT_PROPS_TO_TRAITS}", headers=server.admin, json=body)
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    r = await server.client.get(f"/api/tasks/{EVENT_PROPS_TO_TRAITS}/{job_id}", headers=server.admin)
    assert r.status_code == 404, "not started yet: no progress"
    bad = {**body, "since": "yesterday"}
    r = await server.client.post(f"/api/tasks/{EVENT_PROPS_TO_TRAITS}", headers=server.admin, json=bad)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "since"]
    r = await server.client.get(f"/api/tasks/{EVENT_PROPS_TO_TRAITS}/{'x' * 600}", headers=server.admin)
    assert r.status_code == 422
