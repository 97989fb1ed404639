"""``event_to_profile_coping:worker``: mappings saved after events came in are applied to the stored events'
profiles by a task started over HTTP, with its progress readable; bad input is refused with 422."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import Running, payload
from tracardi.domain.messages import EVENT_TO_PROFILE
from tracardi.workers import WorkerOptions, WorkersOptions, run_workers

FAST = WorkersOptions(default=WorkerOptions(concurrency=2, poll=0.05, backoff_min=0.01, backoff_max=0.05))
URL = f"/api/tasks/{EVENT_TO_PROFILE}"
EMAIL = {"event": "properties.email", "profile": "data.contact.email.main"}
SPENT = {"event": "properties.value", "profile": "traits.spent", "op": "increment"}
MAPPINGS = [
    {"id": "email", "event_type": "identify", "mappings": [EMAIL]},
    {"id": "spent", "event_type": "purchase", "mappings": [SPENT]},
]


async def _track(server: Running, event: dict[str, Any], profile_id: str | None = None) -> str:
    ids = {"profile": {"id": profile_id}} if profile_id else {}
    r = await server.track(payload(event, **ids))
    assert r.status_code == 200, r.text
    return str(r.json()["profile"]["id"])


async def _profile(server: Running, profile_id: str) -> dict[str, Any]:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _start(server: Running, body: dict[str, Any]) -> str:
    r = await server.client.post(URL, json={"kind": "copy-events-to-profiles", **body}, headers=server.admin)
    assert r.status_code == 202, r.text
    await asyncio.wait_for(run_workers(server.services.workers(), FAST, asyncio.Event(), burst=True), 60)
    return str(r.json()["job_id"])


async def test_events_tracked_before_a_mapping_existed_are_copied_to_their_profiles(server: Running) -> None:
    a = await _track(server, {"type": "identify", "properties": {"email": "ann@example.com"}})
    for value in (10, 5):
        await _track(server, {"type": "purchase", "properties": {"value": value}}, a)
    b = await _track(server, {"type": "identify", "properties": {"email": "bob@example.com"}})
    await _track(server, {"type": "purchase", "properties": {"value": 7, "vip": True}}, b)
    await _track(server, {"type": "page-view"}, b)
    assert (await _profile(server, a))["traits"] == {}
    for mapping in MAPPINGS:
        r = await server.client.post("/api/event-to-profile", json=mapping, headers=server.admin)
        assert r.status_code == 201, r.text

    job_id = await _start(server, {"event_type": "identify"})
    progress = (await server.client.get(f"{URL}/{job_id}", headers=server.admin)).json()
    assert (progress["status"], progress["total"], progress["done"], progress["changed"]) == ("done", 2, 2, 2)
    assert progress["kind"] == "copy-events-to-profiles" and progress["queue"] == EVENT_TO_PROFILE
    assert (await _profile(server, a))["data"]["contact"]["email"]["main"] == "ann@example.com"
    assert (await _profile(server, b))["data"]["contact"]["email"]["main"] == "bob@example.com"
    assert (await _profile(server, a))["traits"] == {}, "purchases were not selected"

    job_id = await _start(server, {"where": 'event@type == "purchase" AND properties.vip NOT EXISTS'})
    progress = (await server.client.get(f"{URL}/{job_id}", headers=server.admin)).json()
    assert (progress["status"], progress["total"], progress["changed"]) == ("done", 2, 1)
    assert (await _profile(server, a))["traits"] == {"spent": 15}
    assert (await _profile(server, b))["traits"] == {}

    job_id = await _start(server, {"since": "2000-01-01T00:00:00Z", "until": "2001-01-01T00:00:00Z"})
    progress = (await server.client.get(f"{URL}/{job_id}", headers=server.admin)).json()
    assert (progress["status"], progress["total"], progress["changed"]) == ("done", 0, 0)
    queues = (await server.client.get("/api/queues", headers=server.admin)).json()
    assert queues[EVENT_TO_PROFILE]["depth"] == 0 and queues[EVENT_TO_PROFILE]["dead"] == 0


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"where": "type =="}, ["body", "where"]),
        ({"where": "profile@traits.a == 1"}, ["body", "where"]),
        ({"where": "a == 1 AND " * 2000 + "a == 1"}, ["body", "where"]),
        ({"since": "yesterday"}, ["body", "since"]),
        ({"where": 5}, ["body", "where"]),
        ({"event_type": ["purchase"]}, ["body", "event_type"]),
    ],
)
async def test_bad_copy_tasks_get_422_and_queue_nothing(server: Running, body: dict[str, Any], loc: list[str]) -> None:
    r = await server.client.post(URL, json={"kind": "copy-events-to-profiles", **body}, headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][: len(loc)] == loc
    assert (await server.services.queue.stats(EVENT_TO_PROFILE)).depth == 0


async def test_copy_task_hostile_requests(server: Running) -> None:
    assert (await server.client.post(URL, json={"kind": "copy-events-to-profiles"})).status_code == 401
    r = await server.client.post(URL, content=b"\xff\xfe", headers=server.admin)
    assert r.status_code == 422
    r = await server.client.post(URL, content=b"x" * 300_000, headers=server.admin)
    assert r.status_code == 413
    r = await server.client.post(URL, json={"kind": "copy-event-props-to-traits-where"}, headers=server.admin)
    assert r.status_code == 422, "another queue's message"
    assert (await server.client.get(f"{URL}/nope", headers=server.admin)).status_code == 404


async def test_copy_jobs_put_on_the_queue_directly_with_bad_input_are_dead_lettered(server: Running) -> None:
    queue = server.services.queue
    await queue.enqueue(EVENT_TO_PROFILE, b"\xff not json", job_id="garbage")
    await queue.enqueue(
        EVENT_TO_PROFILE, b'{"kind": "copy-events-to-profiles", "where": "type =="}', job_id="bad-where"
    )
    await asyncio.wait_for(run_workers(server.services.workers(), FAST, asyncio.Event(), burst=True), 60)
    dead = {d.id: d.error for d in await queue.dead_letters(EVENT_TO_PROFILE)}
    assert set(dead) == {"garbage", "bad-where"} and "Invalid where" in dead["bad-where"]
