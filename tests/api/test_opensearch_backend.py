"""The whole HTTP app on the OpenSearch adapter (osmem-server, the in-memory stand-in from PyPI)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.api.flows_helpers import chain, install, node
from tests.conftest import Running, SettingsFactory, payload, start_server


@pytest.fixture
async def os_server(make_settings: SettingsFactory, osmem_url: str, redis_url: str) -> AsyncIterator[Running]:
    # the scale-out shape: documents on OpenSearch, queues on Redis (the embedded queue lives in the SQLite file)
    prefix = f"tracardi-test-{uuid.uuid4().hex[:8]}:"
    settings = make_settings(
        storage={"backend": "opensearch"},
        opensearch={"hosts": osmem_url, "prefix": "app"},
        redis={"url": redis_url, "prefix": prefix},
    )
    async for running in start_server(settings):
        yield running


async def test_track_then_read_back_through_opensearch(os_server: Running) -> None:
    first = (await os_server.track(payload(debug=True))).json()
    profile_id, session_id = first["profile"]["id"], first["session"]["id"]
    again = await os_server.track(payload(profile={"id": profile_id}, session={"id": session_id}))
    assert again.status_code == 200 and again.json()["profile"]["id"] == profile_id
    r = await os_server.client.get(f"/api/profiles/{profile_id}", headers=os_server.admin)
    assert r.status_code == 200, r.text
    assert r.json()["stats"]["views"] == 2 and r.json()["stats"]["visits"] == 1
    event = await os_server.client.get(f"/api/events/{first['events'][0]}", headers=os_server.admin)
    assert event.json()["type"] == "page-view"
    events = await os_server.client.get(f"/api/profiles/{profile_id}/events?type=page-view", headers=os_server.admin)
    assert len(events.json()["items"]) == 2
    assert (await os_server.client.get("/readyz")).status_code == 200


async def test_rules_flows_and_traces_on_opensearch(os_server: Running) -> None:
    steps = [node("inc", "increment", field="profile@stats.counters.n"), node("seg", "add-segment", segment="s")]
    await install(os_server, chain("count", *steps), "buy")
    first = (await os_server.track(payload({"type": "buy"}, debug=True))).json()
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    await os_server.track(payload({"type": "buy"}, **ids))
    profile = (await os_server.client.get(f"/api/profiles/{first['profile']['id']}", headers=os_server.admin)).json()
    assert profile["stats"]["counters"] == {"n": 2} and profile["segments"] == ["s"]
    event_id = first["events"][0]
    traces = await os_server.client.get(f"/api/events/{event_id}/flow-traces", headers=os_server.admin)
    assert [s["node"] for s in traces.json()["items"][0]["steps"]] == ["start", "inc", "seg", "end"]
    listed = (await os_server.client.get("/api/flows", headers=os_server.admin)).json()["items"]
    assert [f["id"] for f in listed] == ["count"]


async def test_merge_keys_and_segments_on_opensearch(os_server: Running) -> None:
    admin = os_server.admin
    await os_server.client.put("/api/merge-keys", json={"keys": ["data.contact.email.main"]}, headers=admin)
    mapping = {
        "id": "identify",
        "event_type": "identify",
        "mappings": [{"event": "properties.email", "profile": "data.contact.email.main"}],
    }
    assert (await os_server.client.post("/api/event-to-profile", json=mapping, headers=admin)).status_code == 201
    segment = {"id": "known", "name": "Known", "condition": "data.contact.email.main EXISTS"}
    assert (await os_server.client.post("/api/segments", json=segment, headers=admin)).status_code == 201
    identify = payload({"type": "identify", "properties": {"email": "ann@example.com"}})
    a = (await os_server.track(identify)).json()["profile"]["id"]
    b = (await os_server.track(identify)).json()["profile"]["id"]
    r = await os_server.client.get(f"/api/profiles/{a}", headers=admin)
    assert r.json()["id"] == b and {a, b} <= set(r.json()["ids"])
    assert r.json()["segments"] == ["known"]
    again = await os_server.track(payload(profile={"id": a}))
    assert again.json()["profile"]["id"] == b
