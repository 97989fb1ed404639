"""Broken, oversized and hostile input on the collector: a clear 4xx JSON error, nothing half-written, nothing lost."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.conftest import Running, payload
from tracardi.storage import EVENTS, PROFILES, SESSIONS


async def _counts(server: Running) -> tuple[int, int, int]:
    store = server.services.store
    return await store.count(PROFILES), await store.count(SESSIONS), await store.count(EVENTS)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


CASES: list[tuple[str, bytes, int, list[Any]]] = [
    ("malformed json", b'{"source": {"id": "demo"}, "events": [', 422, ["body"]),
    ("not an object", b"[1, 2, 3]", 422, ["body"]),
    ("missing source", json.dumps({"events": [{"type": "x"}]}).encode(), 422, ["body", "source"]),
    ("source id not a string", json.dumps({"source": {"id": 7}, "events": []}).encode(), 422, ["body", "source", "id"]),
    ("session id not a string", json.dumps(payload(session={"id": 12})).encode(), 422, ["body", "session", "id"]),
    ("profile id a list", json.dumps(payload(profile={"id": ["x"]})).encode(), 422, ["body", "profile", "id"]),
    ("event without type", json.dumps(payload({"properties": {}})).encode(), 422, ["body", "events", 0, "type"]),
    ("event type empty", json.dumps(payload({"type": "  "})).encode(), 422, ["body", "events", 0, "type"]),
    (
        "events not a list",
        json.dumps({"source": {"id": "demo"}, "events": {"type": "x"}}).encode(),
        422,
        ["body", "events"],
    ),
    (
        "properties not an object",
        json.dumps(payload({"type": "x", "properties": [1]})).encode(),
        422,
        ["body", "events", 0, "properties"],
    ),
    ("invalid utf-8", b'{"source": {"id": "demo"}, "events": [{"type": "\xff\xfe"}]}', 422, ["body"]),
    (
        "too deep",
        json.dumps(payload({"type": "x", "properties": _nested(40)})).encode(),
        422,
        ["body", "events", 0, "properties"],
    ),
    ("too deep context", json.dumps(payload(context=_nested(40))).encode(), 422, ["body", "context"]),
    ("too many events", json.dumps(payload(*[{"type": "x"}] * 101)).encode(), 422, ["body", "events"]),
    ("empty source id", json.dumps(payload(source=" ")).encode(), 422, ["body", "source", "id"]),
]


@pytest.mark.parametrize(("body", "status", "loc"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_invalid_bodies_get_422_naming_the_field(server: Running, body: bytes, status: int, loc: list) -> None:
    before = await _counts(server)
    r = await server.client.post("/track", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()
    assert isinstance(err["detail"], str) and err["detail"]
    assert err["errors"][0]["loc"] == loc
    assert await _counts(server) == before


@pytest.mark.parametrize("path", ["/track", "/collect/page-view/demo", "/api/sources"])
async def test_absurdly_nested_json_gets_422_not_500(server: Running, path: str) -> None:
    """5,000 levels make the JSON decoder itself give up, before any depth check can run."""
    body = b'{"source": {"id": "demo"}, "events": [{"type": "x", "properties": ' + b'{"a": ' * 5000 + b"1"
    body += b"}" * 5000 + b"}]}"
    before = await _counts(server)
    r = await server.client.post(path, content=body, headers={"content-type": "application/json", **server.admin})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][0] == "body"
    assert await _counts(server) == before


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("no-such-source", "Invalid event source"),
        ("@internal", "Internal event sources"),
        ("disabled", "disabled"),
        ("hook-only", "allows only"),
    ],
)
async def test_source_problems_get_401(server: Running, source: str, detail: str) -> None:
    admin = server.admin
    await server.client.post("/api/sources", json={"id": "disabled", "enabled": False}, headers=admin)
    await server.client.post("/api/sources", json={"id": "hook-only", "type": "webhook"}, headers=admin)
    before = await _counts(server)
    r = await server.track(payload(source=source))
    assert r.status_code == 401
    assert detail in r.json()["detail"]
    assert await _counts(server) == before


async def test_declared_body_over_the_limit_gets_413_before_reading(server: Running) -> None:
    big = json.dumps(payload({"type": "x", "properties": {"blob": "x" * 1_100_000}})).encode()
    r = await server.client.post("/track", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["loc"] == ["body"]


async def test_streamed_body_over_the_limit_gets_413(server: Running) -> None:
    async def chunks():
        yield b'{"source": {"id": "demo"}, "events": [{"type": "x", "properties": {"blob": "'
        for _ in range(40):
            yield b"y" * 32_768
        yield b'"}}]}'

    before = await _counts(server)
    r = await server.client.post("/track", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert await _counts(server) == before


async def test_huge_but_allowed_properties_round_trip(server: Running) -> None:
    props = {f"k{i}": "v" * 100 for i in range(5000)}
    r = await server.track(payload({"type": "big", "properties": props}, debug=True))
    assert r.status_code == 200
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert event["properties"] == props


async def test_hostile_strings_are_stored_verbatim(server: Running) -> None:
    hostile = "'; DROP TABLE event; -- \u0000 <script>alert(1)</script> \U0001f600 $.a[0]"
    r = await server.track(
        payload({"type": "x", "properties": {hostile: hostile}}, session={"id": hostile}, debug=True)
    )
    assert r.status_code == 200
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert event["properties"] == {hostile: hostile}
    assert event["session"]["id"] == hostile


async def test_bad_requests_among_good_ones_lose_nothing_accepted(server: Running) -> None:
    good = [server.track(payload(debug=True)) for _ in range(20)]
    bad = [server.client.post("/track", content=b"{oops") for _ in range(20)]
    results = await asyncio.gather(*good, *bad)
    accepted = [r.json()["events"] for r in results[:20]]
    assert all(r.status_code == 422 for r in results[20:])
    for ids in accepted:
        for event_id in ids:
            assert (await server.client.get(f"/api/events/{event_id}", headers=server.admin)).status_code == 200


async def test_unknown_top_level_keys_are_ignored(server: Running) -> None:
    r = await server.track(payload(device={"id": "abc"}, something="else"))
    assert r.status_code == 200


async def test_unknown_route_and_method_get_json_errors(server: Running) -> None:
    r = await server.client.get("/nope")
    assert r.status_code == 404 and "detail" in r.json() and r.json()["errors"] == []
    r = await server.client.delete("/track")
    assert r.status_code == 405 and "detail" in r.json()
