"""Computing and answering actions over HTTP: templates, string, math and date operations and regex matches write
to the profile; ux and response come back from /track; injected events are stored with the call and routed to
their own rules. A bad config of each family gets a 422 naming the node."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.flows_helpers import chain, edge, flow, install, node
from tests.conftest import Running, payload
from tracardi.workers import WorkerOptions, WorkersOptions, run_workers

FAST = WorkersOptions(default=WorkerOptions(max_tries=3, backoff_min=0.01, backoff_max=0.02, poll=0.05))


async def _profile(server: Running, profile_id: str) -> dict:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_computed_values_land_on_the_profile(server: Running) -> None:
    steps = [
        node("greet", "template", template="Hi {{ event@properties.name }}", target="profile@traits.greeting"),
        node("slug", "string-operation", operation="slug", source="event@properties.name",
             target="profile@traits.slug"),
        node("total", "math-operation", expression="event@properties.price * event@properties.qty", round=2,
             target="profile@traits.total"),
        node("due", "date-operation", operation="add", source="event@properties.bought", interval="14d",
             target="profile@traits.due"),
    ]  # fmt: skip
    await install(server, chain("compute", *steps), "buy")
    props = {"name": "Ann Żak", "price": "9.99", "qty": 3, "bought": "2026-01-10T08:00:00Z"}
    r = await server.track(payload({"type": "buy", "properties": props}))
    assert r.status_code == 200, r.text
    traits = (await _profile(server, r.json()["profile"]["id"]))["traits"]
    assert traits == {"greeting": "Hi Ann Żak", "slug": "ann-zak", "total": 29.97, "due": "2026-01-24T08:00:00+00:00"}


async def test_regex_match_branches_and_its_groups_reach_the_next_node(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("re", "regex-match", pattern=r"/product/(?P<sku>[A-Z0-9]+)", source="event@properties.url"),
        node("sku", "copy-data", copy={"profile@traits.sku": "payload@named.sku"}),
        node("none", "set-data", set={"profile@traits.sku": None}),
        node("slow", "set-data", set={"profile@traits.timeout": True}),
    ]
    edges = [edge("start", "re"), edge("re", "sku", port="matched"), edge("re", "none", port="not-matched"),
             edge("re", "slow", port="error")]  # fmt: skip
    await install(server, flow("re", nodes, edges), "view")
    hit = (await server.track(payload({"type": "view", "properties": {"url": "/product/AB12?x=1"}}))).json()
    miss = (await server.track(payload({"type": "view", "properties": {"url": "/home"}}))).json()
    assert (await _profile(server, hit["profile"]["id"]))["traits"] == {"sku": "AB12"}
    assert (await _profile(server, miss["profile"]["id"]))["traits"] == {"sku": None}


async def test_a_catastrophic_regex_on_hostile_input_takes_the_error_port_quickly(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("re", "regex-match", pattern="(a|aa)+$", source="event@properties.text", timeout=0.01),
        node("slow", "set-data", set={"profile@traits.timeout": True}),
    ]
    await install(server, flow("evil", nodes, [edge("start", "re"), edge("re", "slow", port="error")]), "evil")
    r = await server.track(payload({"type": "evil", "properties": {"text": "a" * 9000 + "!"}}))
    assert r.status_code == 200, r.text
    assert (await _profile(server, r.json()["profile"]["id"]))["traits"] == {"timeout": True}


async def test_ux_and_response_come_back_from_track(server: Running) -> None:
    steps = [
        node("ux", "add-ux", tag="tracardi-popup", props={"title": "Hi {{ event@properties.name }}"}, content="10%"),
        node("offer", "set-response", key="Offer", body={"code": "X-{{ event@properties.name }}", "pct": 10}),
    ]
    await install(server, chain("answer", *steps), "visit")
    r = await server.track(payload({"type": "visit", "properties": {"name": "ann"}}))
    assert r.status_code == 200, r.text
    assert r.json()["ux"] == [{"tag": "tracardi-popup", "props": {"title": "Hi ann"}, "content": "10%"}]
    assert r.json()["response"] == {"offer": {"code": "X-ann", "pct": 10}}


async def test_an_injected_event_is_stored_with_the_call_and_runs_its_own_rules(server: Running) -> None:
    inject = node("inj", "inject-event", type="Order Placed", properties={"total": "{{ event@properties.total }}"})
    await install(server, chain("checkout", inject), "checkout")
    await install(
        server, chain("orders", node("n", "increment", field="profile@stats.counters.orders")), "order-placed"
    )
    r = await server.track(payload({"type": "checkout", "properties": {"total": 42}}, debug=True))
    assert r.status_code == 200, r.text
    ids = r.json()["events"]
    stored = [(await server.client.get(f"/api/events/{i}", headers=server.admin)).json() for i in ids]
    injected = [e for e in stored if e["type"] == "order-placed"]
    assert len(injected) == 1 and injected[0]["properties"] == {"total": 42}
    checkout = next(e for e in stored if e["type"] == "checkout")
    assert injected[0]["session"]["id"] == checkout["session"]["id"]
    assert injected[0]["metadata"]["processed_by"]["flows"] == ["orders"]
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["stats"]["counters"] == {"orders": 1}


async def test_a_flow_injecting_its_own_event_type_is_bounded(server: Running) -> None:
    nodes = [node("start", "start"), node("inj", "inject-event", type="echo"),
             node("err", "increment", field="profile@stats.counters.refused")]  # fmt: skip
    await install(server, flow("echo", nodes, [edge("start", "inj"), edge("inj", "err", port="error")]), "echo")
    r = await server.track(payload({"type": "echo"}, debug=True))
    assert r.status_code == 200, r.text
    echoes = [
        (await server.client.get(f"/api/events/{i}", headers=server.admin)).json()["type"] for i in r.json()["events"]
    ]
    assert echoes.count("echo") == 11  # the tracked one and workflows.max_injected_events more
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["stats"]["counters"] == {"refused": 1}


@pytest.mark.parametrize(
    ("action", "config", "words"),
    [
        ("template", {"template": "x", "target": "flow@x"}, "read-only"),
        ("string-operation", {"operation": "shout", "source": "event@x"}, "operation"),
        ("string-operation", {"operation": "replace", "source": "event@x"}, "old"),
        ("math-operation", {"expression": "__import__('os').system('x')"}, "unexpected"),
        ("math-operation", {"expression": "1 +"}, "at 3"),
        ("date-operation", {"operation": "now", "timezone": "Mars/Olympus"}, "timezone"),
        ("date-operation", {"operation": "format"}, "source"),
        ("regex-match", {"pattern": "(", "source": "event@x"}, "pattern"),
        ("add-ux", {"tag": "<script>"}, "tag"),
        ("set-response", {"key": "k"}, "exactly one of body"),
        ("inject-event", {"type": " "}, "event type"),
    ],
)
async def test_a_bad_compute_or_answer_config_gets_422_naming_the_node(
    server: Running, action: str, config: dict, words: str
) -> None:
    r = await server.client.post("/api/flows", json=chain("f", node("bad", action, **config)), headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][:5] == ["body", "flowGraph", "nodes", 1, "config"], r.json()
    assert "'bad'" in r.json()["detail"] and words in r.json()["detail"], r.json()


async def test_two_rules_running_one_injecting_flow_store_two_events(server: Running) -> None:
    await install(server, chain("twice", node("inj", "inject-event", type="echoed")), "shout")
    body = {"id": "rule-2", "event_type": {"id": "shout"}, "flow": {"id": "twice"}}
    assert (await server.client.post("/api/rules", json=body, headers=server.admin)).status_code == 200
    r = await server.track(payload({"type": "shout"}, debug=True))
    assert r.status_code == 200, r.text
    ids = r.json()["events"]
    types = [(await server.client.get(f"/api/events/{i}", headers=server.admin)).json()["type"] for i in ids]
    assert types.count("echoed") == 2 and len(set(ids)) == len(ids)


async def test_a_dry_run_shows_the_events_a_flow_would_inject_and_stores_none(server: Running) -> None:
    doc = chain("dry", node("inj", "inject-event", type="order", properties={"n": "{{ event@properties.n }}"}))
    sample = {"flow": doc, "event": {"type": "buy", "properties": {"n": 2}}}
    r = await server.client.post("/api/flows/dry-run", json=sample, headers=server.admin)
    assert r.status_code == 200, r.text
    injected = r.json()["injected"]
    assert [(e["type"], e["properties"]) for e in injected] == [("order", {"n": 2})]
    assert (await server.client.get(f"/api/events/{injected[0]['id']}", headers=server.admin)).status_code == 404


async def test_an_event_injected_by_a_resumed_branch_is_stored(server: Running) -> None:
    nodes = [node("start", "start"), node("bg", "background"), node("inj", "inject-event", type="later"),
             node("end", "end")]  # fmt: skip
    edges = [edge("start", "bg"), edge("bg", "inj", port="output"), edge("inj", "end")]
    await install(server, flow("bg-inject", nodes, edges), "slow")
    r = await server.track(payload({"type": "slow"}, debug=True))
    assert r.status_code == 200, r.text
    await asyncio.wait_for(run_workers(server.services.workers(), FAST, asyncio.Event(), burst=True), 30)
    page = await server.client.get(f"/api/profiles/{r.json()['profile']['id']}/events", headers=server.admin)
    assert page.status_code == 200, page.text
    assert "later" in [e["type"] for e in page.json()["items"]]
