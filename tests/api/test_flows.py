"""Rules and flows over HTTP: what a tracked event's flow does to the profile, the response and the stored data."""

from __future__ import annotations

import asyncio

from tests.api.flows_helpers import chain, edge, flow, install, node
from tests.conftest import Running, payload
from tracardi.workers import WorkerOptions, WorkersOptions, run_workers

FAST = WorkersOptions(default=WorkerOptions(max_tries=3, backoff_min=0.01, backoff_max=0.02, poll=0.05))


async def _profile(server: Running, profile_id: str) -> dict:
    r = await server.client.get(f"/api/profiles/{profile_id}", headers=server.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_counter_flow_tracked_50_times_concurrently_ends_at_50(server: Running) -> None:
    await install(server, chain("count", node("inc", "increment", field="profile@stats.counters.buys")), "buy")
    first = (await server.track(payload({"type": "buy"}))).json()
    same_session = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    new_sessions = {"profile": {"id": first["profile"]["id"]}}  # serialised by the profile lock alone
    bodies = [payload({"type": "buy"}, **(same_session if i % 2 else new_sessions)) for i in range(49)]
    replies = await asyncio.gather(*(server.track(body) for body in bodies))
    assert {r.status_code for r in replies} == {200}
    profile = await _profile(server, first["profile"]["id"])
    assert profile["stats"]["counters"]["buys"] == 50


async def test_flow_sets_data_adds_a_segment_and_answers_the_client(server: Running) -> None:
    steps = [
        node("tier", "set-data", set={"profile@traits.tier": "gold"}),
        node("copy", "copy-data", copy={"profile@data.contact.email.main": "event@properties.email"}),
        node("seg", "add-segment", segment=["buyers", "gold"]),
    ]
    await install(server, chain("enrich", *steps), "purchase")
    r = await server.track(payload({"type": "purchase", "properties": {"email": "a@b.c"}}))
    assert r.status_code == 200, r.text
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["traits"]["tier"] == "gold"
    assert profile["data"]["contact"]["email"]["main"] == "a@b.c"
    assert profile["segments"] == ["buyers", "gold"]


async def test_a_broken_step_takes_its_error_port_and_the_event_is_still_stored(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("name", "set-data", set={"profile@traits.name": "Ann"}),
        node("bad", "increment", field="profile@traits.name"),
        node("ok", "set-data", set={"profile@traits.path": "payload"}),
        node("err", "set-data", set={"profile@traits.path": "error"}),
    ]
    edges = [edge("start", "name"), edge("name", "bad"), edge("bad", "ok"), edge("bad", "err", port="error")]
    await install(server, flow("broken", nodes, edges), "buy")
    first = (await server.track(payload({"type": "seed"}))).json()
    ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
    r = await server.track(payload({"type": "buy"}, debug=True, **ids))
    assert r.status_code == 200, r.text
    event_id = r.json()["events"][0]
    stored = await server.client.get(f"/api/events/{event_id}", headers=server.admin)
    assert stored.status_code == 200
    profile = await _profile(server, first["profile"]["id"])
    assert profile["traits"]["path"] == "error"
    traces = (await server.client.get(f"/api/events/{event_id}/flow-traces", headers=server.admin)).json()["items"]
    assert [s["node"] for s in traces[0]["steps"]] == ["start", "name", "bad", "err"]
    assert "not a number" in traces[0]["steps"][2]["error"]
    assert traces[0]["steps"][2]["output"] == {"error": {"message": traces[0]["steps"][2]["error"], "node": "bad"}}


async def test_if_branches_on_a_tql_condition(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("big", "if", condition='event@properties.total >= 100 AND event@type == "purchase"'),
        node("vip", "add-segment", segment="big-spenders"),
        node("small", "set-data", set={"profile@traits.small": True}),
    ]
    edges = [edge("start", "big"), edge("big", "vip", port="true"), edge("big", "small", port="false")]
    await install(server, flow("branch", nodes, edges), "purchase")
    big = (await server.track(payload({"type": "purchase", "properties": {"total": 150}}))).json()
    small = (await server.track(payload({"type": "purchase", "properties": {"total": 5}}))).json()
    assert (await _profile(server, big["profile"]["id"]))["segments"] == ["big-spenders"]
    small_profile = await _profile(server, small["profile"]["id"])
    assert small_profile["segments"] == [] and small_profile["traits"] == {"small": True}


async def test_a_flow_that_loops_forever_is_stopped_by_the_step_bound(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("inc", "increment", field="memory@n"),
        node("again", "if", condition="memory@n > 0"),
    ]
    edges = [edge("start", "inc"), edge("inc", "again"), edge("again", "inc", port="true")]
    await install(server, flow("forever", nodes, edges), "spin")
    r = await server.track(payload({"type": "spin"}, debug=True))
    assert r.status_code == 200, r.text
    event_id = r.json()["events"][0]
    traces = (await server.client.get(f"/api/events/{event_id}/flow-traces", headers=server.admin)).json()["items"]
    assert "workflows.max_steps" in traces[0]["error"] and "loop" in traces[0]["error"]
    assert len(traces[0]["steps"]) + traces[0]["truncated"] == 1000
    assert (await server.client.get(f"/api/events/{event_id}", headers=server.admin)).status_code == 200


async def test_a_flow_that_corrupts_the_profile_is_undone_and_the_event_still_stored(server: Running) -> None:
    steps = [
        node("ok", "set-data", set={"profile@traits.seen": True}),
        node("bad", "set-data", set={"profile@stats.visits": "many"}),
    ]
    await install(server, chain("corrupt", *steps), "oops")
    r = await server.track(payload({"type": "oops"}, debug=True))
    assert r.status_code == 200, r.text
    event_id = r.json()["events"][0]
    profile = await _profile(server, r.json()["profile"]["id"])
    assert profile["stats"]["visits"] == 1 and profile["traits"] == {}
    event = (await server.client.get(f"/api/events/{event_id}", headers=server.admin)).json()
    assert event["metadata"]["error"] is True
    traces = (await server.client.get(f"/api/events/{event_id}/flow-traces", headers=server.admin)).json()["items"]
    assert "profile is invalid" in traces[0]["error"] and "stats.visits" in traces[0]["error"]


async def test_run_in_background_resumes_the_branch_from_the_delayed_queue(server: Running) -> None:
    nodes = [
        node("start", "start"),
        node("now", "set-data", set={"profile@traits.now": True}),
        node("bg", "background"),
        node("later", "increment", field="profile@traits.later"),
        node("end", "end"),
    ]
    edges = [edge("start", "now"), edge("now", "bg"), edge("bg", "later", port="output"), edge("later", "end")]
    await install(server, flow("bg", nodes, edges), "slow")
    r = await server.track(payload({"type": "slow"}))
    profile_id = r.json()["profile"]["id"]
    assert (await _profile(server, profile_id))["traits"] == {"now": True}
    queues = (await server.client.get("/api/queues", headers=server.admin)).json()
    assert queues["scheduler:delayed"]["ready"] == 1
    await asyncio.wait_for(run_workers(server.services.workers(), FAST, asyncio.Event(), burst=True), 30)
    assert (await _profile(server, profile_id))["traits"] == {"now": True, "later": 1}
    queues = (await server.client.get("/api/queues", headers=server.admin)).json()
    assert queues["scheduler:delayed"]["depth"] == 0 and queues["scheduler:delayed"]["dead"] == 0


async def test_flows_answer_with_response_and_ux_and_can_filter_by_source_and_condition(server: Running) -> None:
    await install(server, chain("gold", node("t", "set-data", set={"profile@traits.gold": True})), "visit",
                  source={"id": "elsewhere"})  # fmt: skip
    await install(server, chain("vip", node("t", "set-data", set={"profile@traits.vip": True})), "visit",
                  condition="event@properties.vip == true")  # fmt: skip
    plain = (await server.track(payload({"type": "visit"}))).json()
    vip = (await server.track(payload({"type": "visit", "properties": {"vip": True}}))).json()
    assert (await _profile(server, plain["profile"]["id"]))["traits"] == {}
    assert (await _profile(server, vip["profile"]["id"]))["traits"] == {"vip": True}
    assert vip["ux"] == [] and vip["response"] == {}


async def test_a_start_node_with_debug_stores_the_trace_without_the_client_asking(server: Running) -> None:
    doc = chain("dbg", node("say", "log", message="tier {{profile@traits.tier}} for {{event@type}}"))
    doc["flowGraph"]["nodes"][0]["config"] = {"debug": True}
    await install(server, doc, "look")
    r = await server.track(payload({"type": "look"}))
    assert r.json()["events"] == []
    profile_id = r.json()["profile"]["id"]
    events = (await server.client.get(f"/api/profiles/{profile_id}/events?type=look", headers=server.admin)).json()
    event_id = events["items"][0]["id"]
    traces = (await server.client.get(f"/api/events/{event_id}/flow-traces", headers=server.admin)).json()["items"]
    assert [s["node"] for s in traces[0]["steps"]] == ["start", "say", "end"]
    assert traces[0]["logs"] == [{"node": "say", "level": "info", "message": "tier  for look"}]


async def test_disabled_rules_and_disabled_flows_do_not_run(server: Running) -> None:
    await install(server, chain("off", node("t", "set-data", set={"profile@traits.off": True})), "a", enabled=False)
    doc = chain("disabled", node("t", "set-data", set={"profile@traits.disabled": True}))
    doc["enabled"] = False
    await install(server, doc, "a")
    r = await server.track(payload({"type": "a"}))
    assert (await _profile(server, r.json()["profile"]["id"]))["traits"] == {}
