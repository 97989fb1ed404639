"""The admin API: bearer auth, event source CRUD, reading and deleting profiles, sessions and events."""

from __future__ import annotations

import pytest

from tests.conftest import Running, payload


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": "Basic dGVzdA=="}, {"authorization": "Bearer"}],
)
async def test_admin_api_refuses_without_the_token(server: Running, headers: dict) -> None:
    for path in ("/api/sources", "/api/profiles", "/api/sources/demo"):
        r = await server.client.get(path, headers=headers)
        assert r.status_code == 401
        assert r.json()["detail"] and r.json()["errors"] == []


async def test_source_crud(server: Running) -> None:
    admin = server.admin
    body = {
        "id": "Shop-Web",
        "name": "Shop",
        "type": "rest",
        "bridge": {"id": "1", "name": "Api"},
        "timestamp": "2022-01-07T16:18:09.278Z",
        "enabled": True,
        "config": {},
    }
    r = await server.client.post("/api/sources", json=body, headers=admin)
    assert r.status_code == 201
    assert r.json()["id"] == "shop-web" and r.json()["type"] == ["rest"]
    assert (await server.client.post("/api/sources", json=body, headers=admin)).status_code == 200
    assert (await server.track(payload(source="shop-web"))).status_code == 200
    listed = (await server.client.get("/api/sources", headers=admin)).json()["items"]
    assert {s["id"] for s in listed} >= {"demo", "shop-web"}
    r = await server.client.put("/api/sources/shop-web", json={"name": "Shop", "enabled": False}, headers=admin)
    assert r.status_code == 200 and r.json()["enabled"] is False
    # the change invalidates the collector's source cache at once
    assert (await server.track(payload(source="shop-web"))).status_code == 401
    assert (await server.client.delete("/api/sources/shop-web", headers=admin)).status_code == 200
    assert (await server.client.get("/api/sources/shop-web", headers=admin)).status_code == 404
    assert (await server.client.delete("/api/sources/shop-web", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"id": "x", "nmae": "typo"}, ["body", "nmae"]),
        ({"id": "x", "type": ["rest", "carrier-pigeon"]}, ["body", "type"]),
        ({"id": "x", "enabled": "yes"}, ["body", "enabled"]),
        ({"id": ""}, ["body", "id"]),
        ({"name": "no id"}, ["body", "id"]),
        ({"id": "@internal"}, ["body", "id"]),
        ({"id": 5}, ["body", "id"]),
    ],
)
async def test_bad_source_input_gets_422_naming_the_field(server: Running, body: dict, loc: list) -> None:
    r = await server.client.post("/api/sources", json=body, headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_oversized_and_malformed_source_bodies(server: Running) -> None:
    r = await server.client.post("/api/sources", content=b"{", headers=server.admin)
    assert r.status_code == 422
    big = b'{"id": "x", "description": "' + b"d" * 70_000 + b'"}'
    r = await server.client.post("/api/sources", content=big, headers=server.admin)
    assert r.status_code == 413


async def test_profiles_sessions_and_events_are_listed_newest_first_and_paged(server: Running) -> None:
    admin = server.admin
    first = (await server.track(payload({"type": "e0"}))).json()
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    for i in range(1, 6):
        await server.track(payload({"type": f"e{i}"}, **ids))
    pid = first["profile"]["id"]
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": "2", **({"after": after} if after else {})}
        page = (await server.client.get(f"/api/profiles/{pid}/events", params=params, headers=admin)).json()
        seen.extend(e["type"] for e in page["items"] if not e["source"]["id"].startswith("@"))
        after = page["next"]
        if not after:
            break
    assert seen == ["e5", "e4", "e3", "e2", "e1", "e0"]
    filtered = (await server.client.get(f"/api/profiles/{pid}/events?type=e3", headers=admin)).json()["items"]
    assert [e["type"] for e in filtered] == ["e3"]
    sessions = (await server.client.get(f"/api/profiles/{pid}/sessions", headers=admin)).json()["items"]
    assert [s["id"] for s in sessions] == [first["session"]["id"]]
    events = (await server.client.get(f"/api/sessions/{first['session']['id']}/events", headers=admin)).json()
    assert len(events["items"]) == 9  # six user events and three system events
    profiles = (await server.client.get("/api/profiles", headers=admin)).json()["items"]
    assert pid in [p["id"] for p in profiles]


async def test_bad_paging_parameters(server: Running) -> None:
    for limit in ("0", "-1", "abc", "100000"):
        r = await server.client.get(f"/api/profiles?limit={limit}", headers=server.admin)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "limit"]
    r = await server.client.get("/api/profiles?after=not-a-cursor", headers=server.admin)
    assert r.status_code == 422


async def test_delete_profile_session_and_event(server: Running) -> None:
    admin = server.admin
    r = (await server.track(payload(debug=True))).json()
    for kind, doc_id in (
        ("events", r["events"][0]),
        ("sessions", r["session"]["id"]),
        ("profiles", r["profile"]["id"]),
    ):
        assert (await server.client.get(f"/api/{kind}/{doc_id}", headers=admin)).status_code == 200
        assert (await server.client.delete(f"/api/{kind}/{doc_id}", headers=admin)).status_code == 200
        assert (await server.client.get(f"/api/{kind}/{doc_id}", headers=admin)).status_code == 404
        assert (await server.client.delete(f"/api/{kind}/{doc_id}", headers=admin)).status_code == 404
