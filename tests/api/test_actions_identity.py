"""Merge profiles and segment profile, asked for from a flow, over HTTP: the merge happens in the same tracking
call (the survivor keeps both ids), and a segment is checked at once whatever event types it waits for."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.flows_helpers import chain, edge, flow, install, node
from tests.conftest import Running, payload
from tracardi.storage import PROFILES


async def _profile(server: Running, profile_id: str) -> dict:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def _track(server: Running, event: dict[str, Any], **ids: Any) -> dict:
    r = await server.track(payload(event, **ids))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_flow_merges_the_profiles_sharing_an_email_in_the_same_call(server: Running) -> None:
    steps = [
        node("email", "copy-data", copy={"profile@data.contact.email.main": "event@properties.email"}),
        node("merge", "merge-profiles", merge_by=["profile@data.contact.email.main"]),
    ]
    await install(server, chain("identify", *steps), "identify")
    a = (await _track(server, {"type": "identify", "properties": {"email": "ann@example.com"}}))["profile"]["id"]
    other = (await _track(server, {"type": "identify", "properties": {"email": "bob@example.com"}}))["profile"]["id"]
    b = (await _track(server, {"type": "identify", "properties": {"email": "ann@example.com"}}))["profile"]["id"]
    assert a != b
    survivor = await _profile(server, b)
    assert {a, b} <= set(survivor["ids"]) and survivor["stats"]["visits"] == 2
    assert (await _profile(server, a))["id"] == survivor["id"]
    assert await server.services.store.count(PROFILES) == 2
    assert other not in survivor["ids"]
    assert "merge_requested" not in survivor["metadata"]["system"]


async def test_segment_profile_checks_every_segment_now_and_later_nodes_see_it(server: Running) -> None:
    r = await server.client.post(
        "/api/segments",
        json={"id": "loyal", "name": "Loyal", "condition": "stats.counters.buys >= 2", "event_types": ["other"]},
        headers=server.admin,
    )
    assert r.status_code == 201, r.text
    nodes = [
        node("start", "start"),
        node("inc", "increment", field="profile@stats.counters.buys"),
        node("seg", "segment-profile"),
        node("if", "if", condition='profile@segments CONTAINS "loyal"'),
        node("yes", "set-data", set={"profile@traits.loyal_seen": True}),
    ]
    edges = [edge("start", "inc"), edge("inc", "seg"), edge("seg", "if"), edge("if", "yes", port="true")]
    await install(server, flow("loyalty", nodes, edges), "buy")
    first = await _track(server, {"type": "buy"})
    assert (await _profile(server, first["profile"]["id"]))["segments"] == []
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    await _track(server, {"type": "buy"}, **ids)
    profile = await _profile(server, first["profile"]["id"])
    assert profile["segments"] == ["loyal"] and profile["traits"] == {"loyal_seen": True}
    assert profile["metadata"]["time"]["segmentation"] is not None


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"merge_by": []}, "1 to 10"),
        ({"merge_by": ["event@properties.email"]}, "profile"),
        ({"merge_by": ["profile@metadata.system"]}, "can only write inside"),
        ({"merge_by": ["profile@data.nope"]}, "data.nope"),
    ],
)
async def test_a_bad_merge_config_gets_422_naming_the_node(server: Running, config: dict, words: str) -> None:
    doc = chain("f", node("bad", "merge-profiles", **config))
    r = await server.client.post("/api/flows", json=doc, headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][:5] == ["body", "flowGraph", "nodes", 1, "config"], r.json()
    assert "'bad'" in r.json()["detail"] and words in r.json()["detail"], r.json()
