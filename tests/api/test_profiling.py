"""Profile intelligence over HTTP: merge keys, post-event segments, event validation, mapping and reshaping."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Running, payload
from tracardi.domain.query import Eq
from tracardi.storage import EVENTS, PROFILES, SESSIONS

EMAIL_MAPPING = {
    "id": "identify-email",
    "event_type": "identify",
    "mappings": [{"event": "properties.email", "profile": "data.contact.email.main"}],
}


async def _put(server: Running, path: str, body: dict[str, Any]) -> None:
    r = await server.client.post(f"/api/{path}", json=body, headers=server.admin)
    assert r.status_code == 201, r.text


async def _profile(server: Running, profile_id: str) -> dict[str, Any]:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def _identify(server: Running, email: str, **ids: Any) -> dict[str, Any]:
    r = await server.track(payload({"type": "identify", "properties": {"email": email}}, **ids))
    assert r.status_code == 200, r.text
    return r.json()


async def test_two_profiles_sharing_an_email_become_one_and_both_old_ids_resolve_to_it(server: Running) -> None:
    r = await server.client.put("/api/merge-keys", json={"keys": ["data.contact.email.main"]}, headers=server.admin)
    assert r.json() == {"keys": ["data.contact.email.main"]}
    await _put(server, "event-to-profile", EMAIL_MAPPING)
    first = await _identify(server, "Ann@Example.com")
    a, a_session = first["profile"]["id"], first["session"]["id"]
    await server.track(payload({"type": "page-view"}, profile={"id": a}, session={"id": a_session}))
    second = await _identify(server, " ann@example.com ")
    b = second["profile"]["id"]
    assert a != b

    assert await server.services.store.count(PROFILES) == 1
    survivor = await _profile(server, a)
    assert survivor == await _profile(server, b)
    assert {a, b} <= set(survivor["ids"])
    assert survivor["stats"]["visits"] == 2 and survivor["stats"]["views"] == 1
    # a later /track with either old id, or the first profile's session, lands on the survivor
    for ids in ({"profile": {"id": a}}, {"profile": {"id": b}}, {"session": {"id": a_session}}):
        r = await server.track(payload({"type": "page-view"}, **ids))
        assert r.json()["profile"]["id"] == survivor["id"]
    assert await server.services.store.count(PROFILES) == 1
    assert (await _profile(server, a))["stats"]["views"] == 4
    # the survivor's events and sessions include those tracked under the old ids
    events = await server.client.get(f"/api/profiles/{a}/events?type=identify", headers=server.admin)
    assert len(events.json()["items"]) == 2
    sessions = await server.client.get(f"/api/profiles/{b}/sessions", headers=server.admin)
    assert a_session in [s["id"] for s in sessions.json()["items"]]


async def test_concurrent_tracks_bringing_one_email_leave_one_survivor(server: Running) -> None:
    await server.client.put("/api/merge-keys", json={"keys": ["data.contact.email.main"]}, headers=server.admin)
    await _put(server, "event-to-profile", EMAIL_MAPPING)
    await _identify(server, "bob@example.com")
    replies = await asyncio.gather(*(_identify(server, "bob@example.com") for _ in range(6)))
    assert await server.services.store.count(PROFILES) == 1
    survivor = await _profile(server, replies[0]["profile"]["id"])
    assert all(r["profile"]["id"] in survivor["ids"] for r in replies)
    assert survivor["stats"]["visits"] == 7


async def test_a_changed_email_merges_and_profiles_with_other_emails_stay_apart(server: Running) -> None:
    await server.client.put("/api/merge-keys", json={"keys": ["data.contact.email.main"]}, headers=server.admin)
    await _put(server, "event-to-profile", EMAIL_MAPPING)
    carol = await _identify(server, "carol@example.com")
    dave = await _identify(server, "dave@example.com")
    assert await server.services.store.count(PROFILES) == 2
    await _identify(server, "carol@example.com", profile={"id": dave["profile"]["id"]})
    assert await server.services.store.count(PROFILES) == 1
    merged = await _profile(server, carol["profile"]["id"])
    assert merged["data"]["contact"]["email"]["main"] == "carol@example.com"


async def test_a_segment_appears_when_its_condition_holds_and_goes_when_it_stops(server: Running) -> None:
    await _put(
        server,
        "event-to-profile",
        {
            "id": "spend",
            "event_type": "purchase",
            "mappings": [{"event": "properties.value", "profile": "stats.counters.spent", "op": "increment"}],
        },
    )
    await _put(
        server,
        "segments",
        {"id": "big", "name": "Big Spender", "condition": "stats.counters.spent >= 100", "event_types": ["purchase"]},
    )
    first = (await server.track(payload({"type": "purchase", "properties": {"value": 60}}))).json()
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    assert (await _profile(server, first["profile"]["id"]))["segments"] == []
    await server.track(payload({"type": "purchase", "properties": {"value": 50}}, **ids))
    assert (await _profile(server, first["profile"]["id"]))["segments"] == ["big-spender"]
    # only a purchase re-checks it: a page view changes nothing
    await server.track(payload({"type": "page-view"}, **ids))
    await server.track(payload({"type": "purchase", "properties": {"value": -80}}, **ids))
    profile = await _profile(server, first["profile"]["id"])
    assert profile["segments"] == [] and profile["stats"]["counters"] == {"spent": 30.0}
    stored = await server.services.store.query(PROFILES, Eq(field="segments", value="big-spender"))
    assert stored.items == []


async def _counts(server: Running) -> tuple[int, int, int]:
    store = server.services.store
    return await store.count(PROFILES), await store.count(SESSIONS), await store.count(EVENTS)


async def test_an_event_failing_its_schema_gets_406_naming_the_field_and_nothing_is_stored(server: Running) -> None:
    schema = {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "format": "email"}, "age": {"type": "integer", "minimum": 0}},
    }
    await _put(server, "event-schemas", {"id": "signup", "event_type": "Sign Up", "schema": schema})
    before = await _counts(server)
    cases = [
        ({}, ["body", "events", 1, "properties", "email"]),
        ({"email": 5}, ["body", "events", 1, "properties", "email"]),
        ({"email": "no at sign"}, ["body", "events", 1, "properties", "email"]),
        ({"email": "a@b.c", "age": -1}, ["body", "events", 1, "properties", "age"]),
    ]
    for properties, loc in cases:
        body = payload({"type": "page-view"}, {"type": "sign-up", "properties": properties})
        r = await server.track(body)
        assert r.status_code == 406, r.text
        assert r.json()["detail"].startswith("Validation failed with error:")
        assert r.json()["errors"][0]["loc"] == loc
    assert await _counts(server) == before
    metrics = (await server.client.get("/metrics")).text
    assert 'reason="event_schema"} 4.0' in metrics
    ok = await server.track(payload({"type": "sign-up", "properties": {"email": "a@b.c", "age": 3}}))
    assert ok.status_code == 200
    # a schema for another source does not apply here
    await _put(server, "event-schemas", {"id": "other", "event_type": "page-view", "source_id": "x", "schema": schema})
    assert (await server.track(payload({"type": "page-view"}))).status_code == 200


async def test_mapping_operations_and_conditions(server: Running) -> None:
    await _put(
        server,
        "event-to-profile",
        {
            "id": "order",
            "event_type": "order",
            "condition": 'event@properties.status == "paid"',
            "mappings": [
                {"event": "properties.name", "profile": "data.pii.firstname", "op": "only-if-empty"},
                {"event": "properties.sku", "profile": "traits.bought", "op": "append"},
                {"event": "properties.sku", "profile": "traits.skus", "op": "add"},
                {"event": "properties.total", "profile": "data.metrics.ltv", "op": "increment"},
                {"event": "event@properties.tier", "profile": "profile@traits.tier", "op": "set"},
                {"event": "properties.when", "profile": "data.pii.birthday"},
            ],
        },
    )
    first = (await server.track(payload({"type": "order", "properties": {"status": "open", "total": 5}}))).json()
    pid = first["profile"]["id"]
    ids = {"profile": {"id": pid}, "session": {"id": first["session"]["id"]}}
    profile = await _profile(server, pid)
    assert profile["data"]["metrics"]["ltv"] == 0 and "tier" not in profile["traits"]
    for name, tier in (("Ann", "gold"), ("Bob", "silver")):
        properties = {"status": "paid", "name": name, "sku": "A1", "total": 10.5, "tier": tier, "when": "not a date"}
        assert (await server.track(payload({"type": "order", "properties": properties}, **ids))).status_code == 200
    profile = await _profile(server, pid)
    assert profile["data"]["pii"]["firstname"] == "Ann"
    assert profile["traits"] == {"bought": ["A1", "A1"], "skus": ["A1"], "tier": "silver"}
    assert profile["data"]["metrics"]["ltv"] == 21.0
    assert profile["data"]["pii"]["birthday"] is None  # did not fit the field: skipped, the rest applied


async def test_reshaping_renames_properties_and_sets_the_type_before_mapping(server: Running) -> None:
    await _put(
        server,
        "event-reshaping",
        {"id": "legacy", "event_type": "SignIn", "rename": {"properties.mail": "properties.email"}, "type": "identify"},
    )
    await _put(server, "event-to-profile", EMAIL_MAPPING)
    r = await server.track(payload({"type": "SignIn", "properties": {"mail": "eve@example.com"}}, debug=True))
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert event["type"] == "identify" and event["properties"] == {"email": "eve@example.com"}
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["data"]["contact"]["email"]["main"] == "eve@example.com"
