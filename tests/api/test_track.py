"""POST /track over real HTTP: ids, sessions, statistics, events and the Tracardi response shape."""

from __future__ import annotations

import asyncio

from tests.conftest import Running, payload

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


async def _profile(server: Running, profile_id: str) -> dict:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_first_visit_creates_profile_session_and_system_events(server: Running) -> None:
    r = await server.track(payload(debug=True))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"task", "ux", "response", "events", "profile", "session", "errors", "warnings"}
    assert body["ux"] == [] and body["response"] == {} and body["errors"] == []
    assert body["profile"]["id"] and body["session"]["id"]
    # the page-view, then profile-created, visit-started, session-opened
    assert len(body["events"]) == 4
    events = [(await server.client.get(f"/api/events/{i}", headers=server.admin)).json() for i in body["events"]]
    assert [e["type"] for e in events] == ["page-view", "profile-created", "visit-started", "session-opened"]
    assert events[2]["properties"] == {"trigger-event-types": ["page-view"]}
    assert all(e["profile"]["id"] == body["profile"]["id"] for e in events)
    assert events[0]["metadata"]["status"] == "collected"
    profile = await _profile(server, body["profile"]["id"])
    assert profile["stats"]["visits"] == 1 and profile["stats"]["views"] == 1
    assert profile["metadata"]["time"]["visit"]["count"] == 1
    assert profile["metadata"]["time"]["insert"] and profile["ids"] == [profile["id"]]


async def test_returning_profile_keeps_its_id_and_counts_views_not_visits(server: Running) -> None:
    first = (await server.track(payload())).json()
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    for _ in range(3):
        r = await server.track(payload({"type": "page-view"}, {"type": "click"}, **ids))
        assert r.json()["profile"]["id"] == first["profile"]["id"]
        assert r.json()["session"]["id"] == first["session"]["id"]
    profile = await _profile(server, first["profile"]["id"])
    assert profile["stats"] == {"visits": 1, "views": 4, "counters": {}}


async def test_new_session_of_known_profile_counts_a_visit(server: Running) -> None:
    first = (await server.track(payload())).json()
    r = await server.track(payload(profile={"id": first["profile"]["id"]}, session={"id": "second-visit"}))
    assert r.json()["profile"]["id"] == first["profile"]["id"]
    assert r.json()["session"]["id"] == "second-visit"
    profile = await _profile(server, first["profile"]["id"])
    assert profile["stats"]["visits"] == 2
    visit = profile["metadata"]["time"]["visit"]
    assert visit["count"] == 2 and visit["last"] is not None and visit["current"] > visit["last"]


async def test_unknown_profile_id_is_replaced_not_adopted(server: Running) -> None:
    r = await server.track(payload(profile={"id": "forged-id"}, session={"id": "s-forged"}))
    assert r.status_code == 200
    assert r.json()["profile"]["id"] != "forged-id"
    missing = await server.client.get("/api/profiles/forged-id", headers=server.admin)
    assert missing.status_code == 404


async def test_session_wins_over_payload_profile(server: Running) -> None:
    a = (await server.track(payload(session={"id": "shared-session"}))).json()["profile"]["id"]
    b = (await server.track(payload())).json()["profile"]["id"]
    r = await server.track(payload(session={"id": "shared-session"}, profile={"id": b}))
    assert r.json()["profile"]["id"] == a


async def test_empty_event_list_answers_null(server: Running) -> None:
    r = await server.client.post("/track", json={"source": {"id": "demo"}, "events": []})
    assert r.status_code == 200 and r.json() is None


async def test_fifty_concurrent_tracks_for_one_profile_lose_no_update(server: Running) -> None:
    first = (await server.track(payload())).json()
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    # half share the session, half come from new sessions of the same profile
    bodies = [payload(**ids) if i % 2 else payload(profile=ids["profile"], session={"id": f"s{i}"}) for i in range(50)]
    responses = await asyncio.gather(*(server.track(b) for b in bodies))
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["profile"]["id"] for r in responses} == {first["profile"]["id"]}
    profile = await _profile(server, first["profile"]["id"])
    assert profile["stats"]["views"] == 51
    assert profile["stats"]["visits"] == 26
    assert profile["metadata"]["time"]["visit"]["count"] == 26


async def test_options_control_what_is_saved(server: Running) -> None:
    r = await server.track(payload(options={"saveSession": False}, debug=True))
    assert r.json()["session"]["id"] is None and r.json()["profile"]["id"]
    r = await server.track(payload(options={"saveEvents": False}, debug=True))
    assert r.json()["events"] == []
    r = await server.track(payload({"type": "a"}, {"type": "b", "options": {"save": False}}, debug=True))
    stored = [
        (await server.client.get(f"/api/events/{i}", headers=server.admin)).json()["type"] for i in r.json()["events"]
    ]
    assert "a" in stored and "b" not in stored


async def test_profile_less_track_has_no_profile(server: Running) -> None:
    r = await server.client.post("/track?profile_less=true", json=payload(debug=True))
    assert r.status_code == 200
    assert r.json()["profile"]["id"] is None
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert event["profile"] is None and event["metadata"]["profile_less"] is True


async def test_session_is_filled_from_user_agent_context_and_utm(server: Running) -> None:
    body = payload(
        {"type": "page-view", "context": {"page": {"url": "https://shop.example/a", "title": "A"}}},
        context={
            "browser": {"local": {"browser": {"userAgent": IPHONE, "language": "pl-PL"}}},
            "screen": {"local": {"width": 390, "height": 844, "colorDepth": 24, "orientation": "portrait"}},
            "utm": {"source": "google", "medium": "cpc", "campaign": "winter"},
            "time": {"tz": "Europe/Warsaw"},
        },
        debug=True,
    )
    r = await server.track(body, headers={"user-agent": CHROME})
    session = (await server.client.get(f"/api/sessions/{r.json()['session']['id']}", headers=server.admin)).json()
    assert session["os"]["name"] == "iOS"
    assert session["app"]["name"] == "Mobile Safari" and session["app"]["language"] == "pl-PL"
    assert session["device"]["type"] == "mobile" and session["device"]["brand"] == "Apple"
    assert session["device"]["resolution"] == "390x844" and session["device"]["color_depth"] == 24
    assert session["utm"] == {"source": "google", "medium": "cpc", "campaign": "winter", "term": None, "content": None}
    assert "utm" not in session["context"] and session["metadata"]["channel"] == "web"
    assert session["profile"]["id"] == r.json()["profile"]["id"]
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert event["hit"]["url"] == "https://shop.example/a" and event["hit"]["name"] == "A"
    assert event["os"]["name"] == "iOS" and event["session"]["tz"] == "Europe/Warsaw"
    assert "user-agent" in event["request"]["headers"]
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["metadata"]["time"]["visit"]["tz"] == "Europe/Warsaw"


async def test_credentials_are_not_stored_with_events(server: Running) -> None:
    r = await server.track(payload(debug=True), headers={"authorization": "Bearer secret", "cookie": "sid=1"})
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert "authorization" not in event["request"]["headers"] and "cookie" not in event["request"]["headers"]


async def test_client_event_id_and_time_are_kept(server: Running) -> None:
    event = {"type": "Add To Cart", "id": "EVT-1", "time": {"insert": "2024-01-02T03:04:05Z"}, "tags": ["x", "y"]}
    r = await server.track(payload(event, debug=True))
    assert r.json()["events"][0] == "evt-1"
    stored = (await server.client.get("/api/events/evt-1", headers=server.admin)).json()
    assert stored["type"] == "add-to-cart" and stored["name"] == "Add To Cart"
    assert stored["metadata"]["time"]["insert"] == "2024-01-02T03:04:05Z"
    assert stored["tags"] == {"values": ["x", "y"], "count": 2}


async def test_cors_preflight_and_echo_for_the_browser_tracker(server: Running) -> None:
    origin = "https://shop.example"
    pre = await server.client.options(
        "/track",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-timestamp",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == origin
    assert "x-timestamp" in pre.headers["access-control-allow-headers"].lower()
    r = await server.track(payload(), headers={"origin": origin})
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["access-control-allow-credentials"] == "true"


async def test_send_beacon_text_plain_body_is_tracked(server: Running) -> None:
    import json

    r = await server.client.post(
        "/track", content=json.dumps(payload()), headers={"content-type": "text/plain;charset=UTF-8"}
    )
    assert r.status_code == 200 and r.json()["profile"]["id"]


async def test_track_put_is_a_validating_stub(server: Running) -> None:
    assert (await server.client.put("/track", json=payload())).json() is None
    assert (await server.client.put("/track", json={"events": []})).status_code == 422


async def test_events_are_durable_before_the_response(server: Running, make_settings) -> None:
    """A tracked event can be read by a second connection to the same file at once (group commit, not 'eventually')."""
    from tracardi.storage import EVENTS
    from tracardi.storage.embedded import SqliteDocumentStore
    from tracardi.storage.indices import ALL_INDICES

    r = await server.track(payload(debug=True))
    event_id = r.json()["events"][0]
    other = SqliteDocumentStore(server.services.settings.storage.path + "/tracardi.db", ALL_INDICES)
    try:
        await other.migrate()
        assert (await other.get(EVENTS, event_id)) is not None
    finally:
        await other.close()
