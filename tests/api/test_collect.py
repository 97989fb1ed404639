"""/collect/{event_type}/{source_id}[/{session_id}]: webhook-style tracking."""

from __future__ import annotations

from tests.conftest import Running


async def _event(server: Running, response) -> dict:
    profile_id = response.json()["profile"]["id"]
    assert profile_id
    events = (await server.client.get(f"/api/profiles/{profile_id}/events", headers=server.admin)).json()["items"]
    return next(e for e in events if e["source"]["id"] == "demo")


async def test_get_without_session_is_profile_less(server: Running) -> None:
    r = await server.client.get("/collect/order-paid/demo?a=1&b=2&b=3")
    assert r.status_code == 200
    assert r.json()["profile"]["id"] is None and r.json()["session"]["id"] is None


async def test_get_with_session_keeps_a_profile_and_query_becomes_properties(server: Running) -> None:
    r = await server.client.get("/collect/order-paid/demo/sess-1?a=1&b=2&b=3")
    event = await _event(server, r)
    assert event["type"] == "order-paid"
    assert event["properties"] == {"a": "1", "b": ["2", "3"]}
    again = await server.client.get("/collect/order-paid/demo/sess-1?a=2")
    assert again.json()["profile"]["id"] == r.json()["profile"]["id"]


async def test_post_json_and_form_bodies_become_properties(server: Running) -> None:
    r = await server.client.post("/collect/signup/demo/sess-2", json={"email": "a@b.c", "n": 3})
    assert (await _event(server, r))["properties"] == {"email": "a@b.c", "n": 3}
    r = await server.client.post("/collect/signup/demo/sess-f", data={"x": "1", "y": ""})
    assert r.status_code == 422  # with a session the body must be JSON
    r = await server.client.post("/collect/signup/demo", data={"x": "1"})
    assert r.status_code == 200


async def test_form_with_too_many_fields_is_refused(server: Running) -> None:
    body = "&".join(f"k{i}=v" for i in range(1001))
    r = await server.client.post(
        "/collect/signup/demo", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 422


async def test_collect_rejects_bad_bodies_and_sources(server: Running) -> None:
    r = await server.client.post(
        "/collect/signup/demo/sess-3", content=b"[1,2", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body"]
    r = await server.client.post("/collect/signup/demo", content=b"[1]", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert (await server.client.get("/collect/x/nope")).status_code == 401
