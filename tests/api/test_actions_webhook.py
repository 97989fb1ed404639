"""The webhook action over HTTP, against a real local HTTP server: a 2xx answer reaches the profile through the
``response`` port; a broken, flaky, slow or absent endpoint takes the ``error`` port after its retries, while the
event is still stored; the request is rendered from templates and references."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.api.flows_helpers import chain, edge, flow, install, node
from tests.conftest import Running, free_port, payload


@dataclass
class Endpoint:
    """A local HTTP server and what it saw."""

    url: str
    calls: dict[str, int] = field(default_factory=dict)
    bodies: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at teardown: lets a slow handler finish, so the server stops at once."""


def _app(seen: Endpoint) -> Starlette:
    def count(request: Request) -> int:
        name = request.url.path
        seen.calls[name] = seen.calls.get(name, 0) + 1
        return seen.calls[name]

    async def hook(request: Request) -> Response:
        count(request)
        body = await request.json()
        seen.bodies.append(body)
        return JSONResponse({"got": body, "auth": request.headers.get("authorization")}, status_code=201)

    async def broken(request: Request) -> Response:
        count(request)
        return PlainTextResponse("down for maintenance", status_code=500)

    async def flaky(request: Request) -> Response:
        return JSONResponse({"ok": True}) if count(request) > 2 else PlainTextResponse("busy", status_code=503)

    async def slow(request: Request) -> Response:
        count(request)
        await asyncio.wait_for(seen.release.wait(), 10)
        return PlainTextResponse("late")

    async def big(request: Request) -> Response:
        count(request)
        return PlainTextResponse("x" * 200_000)

    routes = [Route("/hook/{user}", hook, methods=["POST"]), Route("/broken", broken, methods=["POST"]),
              Route("/flaky", flaky, methods=["POST"]), Route("/slow", slow), Route("/big", big)]  # fmt: skip
    return Starlette(routes=routes)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    port = free_port()
    seen = Endpoint(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(_app(seen), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the test endpoint did not start"
    try:
        yield seen
    finally:
        seen.release.set()
        server.should_exit = True
        await task


async def _profile(server: Running, profile_id: str) -> dict:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


def _branches(hook: dict) -> dict:
    """start -> hook; response -> traits.reply = payload; error -> traits.error = payload."""
    nodes = [
        node("start", "start"),
        hook,
        node("ok", "copy-data", copy={"profile@traits.reply": "payload@"}),
        node("err", "copy-data", copy={"profile@traits.error": "payload@"}),
    ]
    edges = [edge("start", "hook"), edge("hook", "ok", port="response"), edge("hook", "err", port="error")]
    return flow("hooked", nodes, edges)


async def _track(server: Running, properties: dict | None = None) -> tuple[dict, dict]:
    """Track one ``signup`` (with debug, so the stored event can be fetched); the reply and the profile's traits."""
    r = await server.track(payload({"type": "signup", "properties": properties or {}}, debug=True))
    assert r.status_code == 200, r.text
    event = await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)
    assert event.status_code == 200, "the event is stored whatever the webhook did"
    return r.json(), (await _profile(server, r.json()["profile"]["id"]))["traits"]


async def test_a_webhook_sends_the_rendered_request_and_its_answer_reaches_the_profile(
    server: Running, endpoint: Endpoint
) -> None:
    hook = node("hook", "webhook", url=endpoint.url + "/hook/{{ event@properties.user }}",
                headers={"Authorization": "Bearer {{ event@properties.token }}"},
                body={"email": "{{ event@properties.email }}", "tags": "{{ event@properties.tags }}",
                      "visit": "{{ profile@metadata.time.visit }}"})  # fmt: skip
    await install(server, _branches(hook), "signup")
    _, traits = await _track(server, {"user": "u1", "token": "t0k", "email": "a@b.c", "tags": ["x", "y"]})
    sent = endpoint.bodies[0]
    assert sent["email"] == "a@b.c" and sent["tags"] == ["x", "y"]
    assert sent["visit"]["count"] == 1 and sent["visit"]["current"].startswith("20")  # a Struct, sent as stored
    reply = traits["reply"]
    assert reply["status"] == 201 and reply["truncated"] is False
    assert reply["body"] == {"got": sent, "auth": "Bearer t0k"}
    assert "error" not in traits


async def test_a_broken_webhook_takes_its_error_port_after_the_retries_and_the_event_is_stored(
    server: Running, endpoint: Endpoint
) -> None:
    hook = node("hook", "webhook", url=endpoint.url + "/broken", body={"x": 1}, retries=2, backoff=0.01)
    await install(server, _branches(hook), "signup")
    _, traits = await _track(server)
    assert endpoint.calls["/broken"] == 3
    error = traits["error"]
    assert error["status"] == 500 and error["body"] == "down for maintenance" and error["node"] == "hook"
    assert "answered 500" in error["message"] and "reply" not in traits


async def test_a_flaky_webhook_succeeds_on_a_retry(server: Running, endpoint: Endpoint) -> None:
    hook = node("hook", "webhook", url=endpoint.url + "/flaky", source="event@properties", retries=3, backoff=0.01)
    await install(server, _branches(hook), "signup")
    _, traits = await _track(server, {"a": 1})
    assert endpoint.calls["/flaky"] == 3
    assert traits["reply"] == {"status": 200, "body": {"ok": True}, "truncated": False}


async def test_a_slow_webhook_times_out_to_the_error_port(server: Running, endpoint: Endpoint) -> None:
    hook = node("hook", "webhook", url=endpoint.url + "/slow", method="GET", timeout=0.2, retries=1, backoff=0.01)
    await install(server, _branches(hook), "signup")
    _, traits = await _track(server)
    assert endpoint.calls["/slow"] == 2
    assert "Timeout" in traits["error"]["message"] and "reply" not in traits


async def test_an_absent_endpoint_and_a_bad_rendered_url_take_the_error_port(server: Running) -> None:
    hook = node("hook", "webhook", url=f"http://127.0.0.1:{free_port()}/gone", text="hi {{ event@type }}")
    await install(server, _branches(hook), "signup")
    _, traits = await _track(server)
    assert "failed" in traits["error"]["message"]
    bad = node("hook", "webhook", url="http://{{ event@properties.host }}/x")
    await install(server, _branches(bad), "signup")
    _, traits = await _track(server, {"host": "exa mple.com\r\nX-Injected: 1"})
    assert traits["error"]["node"] == "hook" and "reply" not in traits


async def test_a_long_answer_is_cut_at_max_response(server: Running, endpoint: Endpoint) -> None:
    hook = node("hook", "webhook", url=endpoint.url + "/big", method="GET", max_response=1000)
    await install(server, _branches(hook), "signup")
    _, traits = await _track(server)
    assert traits["reply"]["truncated"] is True and traits["reply"]["body"] == "x" * 1000


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"url": "ftp://example.com"}, "http"),
        ({"url": "file:///etc/passwd"}, "http"),
        ({"url": "http://x", "method": "TRACE"}, "method"),
        ({"url": "http://x", "timeout": 60}, "timeout"),
        ({"url": "http://x", "retries": 10}, "retries"),
        ({"url": "http://x", "body": {"a": 1}, "text": "b"}, "at most one"),
        ({"url": "http://x", "source": "nobody@x"}, "unknown entity"),
    ],
)
async def test_a_bad_webhook_config_gets_422_naming_the_node(server: Running, config: dict, words: str) -> None:
    r = await server.client.post("/api/flows", json=chain("f", node("bad", "webhook", **config)), headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][:5] == ["body", "flowGraph", "nodes", 1, "config"], r.json()
    assert "'bad'" in r.json()["detail"] and words in r.json()["detail"], r.json()
