"""Profile actions over HTTP: views and visits, moving segments, interests, consents, lists and key counters, as the
profile shows them after /track, and a 422 naming the node for each family's bad config."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.flows_helpers import chain, edge, flow, install, node
from tests.conftest import Running, payload


async def _profile(server: Running, profile_id: str) -> dict:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def _track(server: Running, event: dict[str, Any], ids: dict[str, Any] | None = None) -> dict:
    r = await server.track(payload(event, **(ids or {})))
    assert r.status_code == 200, r.text
    return r.json()


def _ids(reply: dict) -> dict[str, Any]:
    return {"profile": {"id": reply["profile"]["id"]}, "session": {"id": reply["session"]["id"]}}


async def test_views_visits_and_a_moved_segment(server: Running) -> None:
    steps = [
        node("views", "increase-views"),
        node("visits", "increase-visits"),
        node("seg", "add-segment", segment="trial"),
        node("move", "move-segment", from_segment="trial", to_segment="customer"),
    ]
    await install(server, chain("stats", *steps), "subscribe")
    reply = await _track(server, {"type": "subscribe"})
    profile = await _profile(server, reply["profile"]["id"])
    assert profile["stats"]["views"] == 1
    assert profile["stats"]["visits"] == 2  # one counted by the collector for the new session, one by the flow
    assert profile["segments"] == ["customer"]
    assert profile["metadata"]["time"]["segmentation"] is not None


async def test_interests_are_added_increased_decreased_and_deleted(server: Running) -> None:
    steps = [
        node("add", "add-interest", interest="sport", value=0.5),
        node("inc", "increase-interest", interest="event@properties.category", value=2),
        node("dec", "decrease-interest", interest="sport", value=0.25),
        node("gone", "delete-interest", interest="old"),
    ]
    await install(server, chain("interests", *steps), "read")
    first = await _track(server, {"type": "read", "properties": {"category": "music"}})
    await _track(server, {"type": "read", "properties": {"category": "music"}}, _ids(first))
    profile = await _profile(server, first["profile"]["id"])
    assert profile["interests"] == {"sport": 0.25, "music": 4}


async def test_an_interest_name_from_the_event_that_is_not_a_name_takes_the_error_port(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("inc", "increase-interest", interest="event@properties.category"),
        node("err", "set-data", set={"profile@traits.failed": True}),
    ]
    await install(server, flow("bad-interest", nodes, [edge("start", "inc"), edge("inc", "err", port="error")]), "x")
    reply = await _track(server, {"type": "x", "properties": {"category": "no spaces allowed!"}})
    profile = await _profile(server, reply["profile"]["id"])
    assert profile["interests"] == {} and profile["traits"] == {"failed": True}


async def test_consents_are_granted_with_a_revoke_time_and_revoked(server: Running) -> None:
    grant = [
        node("mkt", "set-consent", consent="marketing", revoke_after="30d"),
        node("ever", "set-consent", consent="event@properties.consent"),
    ]
    await install(server, chain("grant", *grant), "agree")
    await install(server, chain("revoke", node("no", "set-consent", consent="marketing", granted=False)), "opt-out")
    first = await _track(server, {"type": "agree", "properties": {"consent": "analytics"}})
    profile = await _profile(server, first["profile"]["id"])
    assert profile["consents"]["analytics"] == {"revoke": None}
    revoke = profile["consents"]["marketing"]["revoke"]
    assert revoke[:4].isdigit() and revoke > profile["metadata"]["time"]["insert"]
    await _track(server, {"type": "opt-out"}, _ids(first))
    assert set((await _profile(server, first["profile"]["id"]))["consents"]) == {"analytics"}


async def test_lists_take_unique_items_capped_and_lose_removed_ones(server: Running) -> None:
    steps = [
        node("seen", "append-to-list", list="profile@traits.seen", source="event@properties.sku", max_length=3),
        node("all", "append-to-list", list="profile@traits.all", source="event@properties.sku", unique=False),
        node("tags", "append-to-list", list="profile@data.preferences.brands", value=["acme", "zeta"]),
        node("drop", "remove-from-list", list="profile@traits.seen", value="b"),
    ]
    await install(server, chain("lists", *steps), "view")
    first = await _track(server, {"type": "view", "properties": {"sku": "a"}})
    for sku in ["b", "a", "c", "d"]:
        await _track(server, {"type": "view", "properties": {"sku": sku}}, _ids(first))
    profile = await _profile(server, first["profile"]["id"])
    assert profile["traits"]["seen"] == ["a", "c", "d"]
    assert profile["traits"]["all"] == ["a", "b", "a", "c", "d"]
    assert profile["data"]["preferences"]["brands"] == ["acme", "zeta"]


async def test_a_list_in_a_typed_string_field_undoes_the_run_and_the_event_is_kept(server: Running) -> None:
    steps = [
        node("ok", "set-data", set={"profile@traits.seen": True}),
        node("bad", "append-to-list", list="profile@data.pii.firstname", value="x"),
    ]
    await install(server, chain("bad-list", *steps), "x")
    r = await server.track(payload({"type": "x"}, debug=True))
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["data"]["pii"]["firstname"] is None and profile["traits"] == {}
    event = (await server.client.get(f"/api/events/{r.json()['events'][0]}", headers=server.admin)).json()
    assert event["metadata"]["error"] is True


async def test_key_counter_counts_keys_and_lists_of_keys(server: Running) -> None:
    count = node("count", "key-counter", key="event@properties.tags", counter="profile@traits.tags")
    await install(server, chain("keys", count), "tagged")
    first = await _track(server, {"type": "tagged", "properties": {"tags": ["red", "blue"]}})
    await _track(server, {"type": "tagged", "properties": {"tags": "red"}}, _ids(first))
    await _track(server, {"type": "tagged", "properties": {"tags": 12}}, _ids(first))  # not a key: error, no change
    profile = await _profile(server, first["profile"]["id"])
    assert profile["traits"]["tags"] == {"red": 2, "blue": 1}


@pytest.mark.parametrize(
    ("action", "config", "words"),
    [
        ("increase-views", {"by": 2}, "unknown field"),
        ("move-segment", {"from_segment": "a"}, "to_segment"),
        ("add-interest", {"interest": "has spaces"}, "interest"),
        ("increase-interest", {"interest": "x", "value": "one"}, "value"),
        ("set-consent", {"consent": "mkt", "revoke_after": "soon"}, "interval"),
        ("append-to-list", {"list": "profile@traits.x"}, "exactly one of value"),
        ("append-to-list", {"list": "flow@x", "value": 1}, "read-only"),
        ("remove-from-list", {"list": "profile@traits.x", "value": 1, "max_length": 0}, "max_length"),
        ("key-counter", {"key": "event@properties.k", "counter": "nowhere@x"}, "unknown entity"),
    ],
)
async def test_a_bad_profile_action_config_gets_422_naming_the_node(
    server: Running, action: str, config: dict, words: str
) -> None:
    r = await server.client.post("/api/flows", json=chain("f", node("bad", action, **config)), headers=server.admin)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["loc"][:5] == ["body", "flowGraph", "nodes", 1, "config"], error
    assert "'bad'" in r.json()["detail"] and words in r.json()["detail"], r.json()
