"""The queue handlers end to end: a tracked event's properties copied to traits, a webhook with retries, delays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import SettingsFactory, free_port, payload
from tracardi.domain.messages import (
    DELAYED,
    DESTINATIONS,
    EVENT_PROPS_TO_TRAITS,
    CopyEventPropsToTraits,
    CopyEventPropsToTraitsWhere,
    SendToWebhook,
)
from tracardi.domain.payload import TrackerPayload
from tracardi.domain.query import Eq
from tracardi.runtime import _Server
from tracardi.services import Services, open_services
from tracardi.storage import EVENTS
from tracardi.workers import WorkerDeps, WorkerOptions, WorkersOptions, run_workers

FAST = WorkersOptions(default=WorkerOptions(max_tries=3, backoff_min=0.01, backoff_max=0.02, poll=0.05))


@pytest.fixture
async def services(make_settings: SettingsFactory) -> AsyncIterator[Services]:
    async with open_services(make_settings()) as svc:
        yield svc


async def burst(svc: Services, **delayed: Any) -> None:
    deps = WorkerDeps(queue=svc.queue, store=svc.store, metrics=svc.metrics, tasks=svc.tasks, delayed=delayed)
    await asyncio.wait_for(run_workers(deps, FAST, asyncio.Event(), burst=True), 30)


async def test_event_properties_are_copied_to_traits(services: Services) -> None:
    body = payload({"type": "purchase", "properties": {"price": 10, "item": {"sku": "a1"}, "x": 1}}, debug=True)
    result = await services.tracker.track(_decode(body))
    ids = [e.id for e in result.events if e.type == "purchase"]
    message = CopyEventPropsToTraits(event_ids=ids, fields={"price": "value", "item.sku": "product.sku"})
    await services.background.send(EVENT_PROPS_TO_TRAITS, message, job_id="copy-1")
    assert not await services.queue.enqueue(EVENT_PROPS_TO_TRAITS, b"{}", job_id="copy-1"), "a repeat is refused"
    await burst(services)
    stored = await services.store.get(EVENTS, ids[0])
    assert stored is not None and stored.doc.traits == {"value": 10, "product": {"sku": "a1"}}
    await services.background.send(EVENT_PROPS_TO_TRAITS, message)  # a repeat changes nothing
    await burst(services)
    again = await services.store.get(EVENTS, ids[0])
    assert again is not None and again.version == stored.version


def _decode(body: dict[str, Any]) -> TrackerPayload:
    return msgspec.convert(body, TrackerPayload)


async def test_webhooks_are_retried_on_5xx_and_dead_on_4xx(services: Services) -> None:
    hits: list[dict[str, Any]] = []

    async def hook(request: Request) -> JSONResponse:
        hits.append({"body": await request.json(), "job": request.headers["x-tracardi-job-id"]})
        status = 503 if len(hits) == 1 else 200
        return JSONResponse({}, status_code=status)

    async def gone(request: Request) -> JSONResponse:
        return JSONResponse({"detail": "no"}, status_code=404)

    port = free_port()
    app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/gone", gone, methods=["POST"])])
    server = _Server(uvicorn.Config(app, port=port, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        url = f"http://127.0.0.1:{port}"
        await services.background.send(DESTINATIONS, SendToWebhook(destination="d", url=url + "/hook", data={"a": 1}))
        await services.background.send(DESTINATIONS, SendToWebhook(destination="d", url=url + "/gone"), job_id="g")
        await services.background.send(DESTINATIONS, SendToWebhook(destination="d", url="file:///etc/passwd"))
        await burst(services)
    finally:
        server.should_exit = True
        await task
    assert [h["body"] for h in hits] == [{"a": 1}, {"a": 1}]
    assert hits[0]["job"] == hits[1]["job"]
    dead = {d.id: d.error for d in await services.queue.dead_letters(DESTINATIONS)}
    assert dead["g"].startswith("aborted: webhook answered 404")
    assert any("not an http(s) url" in e for e in dead.values())


async def test_delayed_calls_run_when_due(services: Services) -> None:
    called: list[dict[str, Any]] = []

    async def resume(args: dict[str, Any]) -> None:
        called.append(args)

    await services.background.later("resume", {"flow": "f1", "node": "n2"}, delay=0.1)
    await services.background.later("unknown", {}, delay=0)
    await burst(services, resume=resume)
    assert called == [{"flow": "f1", "node": "n2"}]
    (dead,) = await services.queue.dead_letters(DELAYED)
    assert "no delayed callable named 'unknown'" in dead.error


async def test_copy_by_query_records_its_progress(services: Services) -> None:
    for price in (1, 2, 3):
        await services.tracker.track(_decode(payload({"type": "purchase", "properties": {"price": price}})))
    await services.tracker.track(_decode(payload({"type": "page-view", "properties": {"price": 99}})))
    message = CopyEventPropsToTraitsWhere(event_type="purchase", fields={"price": "value"})
    job_id = await services.background.send(EVENT_PROPS_TO_TRAITS, message)
    await burst(services)
    progress = await services.tasks.progress(job_id)
    assert (progress.status, progress.total, progress.done, progress.changed) == ("done", 3, 3, 3)
    assert progress.ended is not None and progress.ended >= progress.started
    events = await services.store.query(EVENTS, Eq(field="type", value="purchase"), limit=10)
    assert sorted(e.doc.traits["value"] for e in events.items) == [1, 2, 3]
    views = await services.store.query(EVENTS, Eq(field="type", value="page-view"), limit=10)
    assert all(not e.doc.traits for e in views.items)
