"""The workflow admin API: rules and flows validated on save (422 naming the node and field), dry runs that save
nothing, the action catalogue, and broken, oversized and hostile documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.flows_helpers import chain, edge, flow, node, rule
from tests.conftest import Running, payload


async def _save_flow(server: Running, doc: Any) -> Any:
    return await server.client.post("/api/flows", json=doc, headers=server.admin)


def _loop(*extra: dict[str, Any]) -> dict[str, Any]:
    nodes = [node("start", "start"), node("a", "set-data", set={"memory@x": 1}), node("b", "log"), *extra]
    return flow("loop", nodes, [edge("start", "a"), edge("a", "b"), edge("b", "a")])


@pytest.mark.parametrize(
    ("doc", "loc", "words"),
    [
        (chain("f", node("n", "no-such-action")), ["body", "flowGraph", "nodes", 1, "action"], "unknown action"),
        (chain("f", node("n", "increment")), ["body", "flowGraph", "nodes", 1, "config", "field"], "field"),
        (
            chain("f", node("n", "increment", field="profile@x", increment="lots")),
            ["body", "flowGraph", "nodes", 1, "config", "increment"],
            "Expected `float`",
        ),
        (chain("f", node("n", "increment", field="nowhere@x")), ["body", "flowGraph", "nodes", 1, "config"], "entity"),
        (
            chain("f", node("n", "set-data", set={"flow@x": 1})),
            ["body", "flowGraph", "nodes", 1, "config"],
            "read-only",
        ),
        (chain("f", node("n", "if", condition="profile@x ==")), ["body", "flowGraph", "nodes", 1, "config"], "n"),
        (chain("f", node("n", "log", colour="red")), ["body", "flowGraph", "nodes", 1, "config", "colour"], "unknown"),
        (chain("f", node("n", "pause", wait=-1)), ["body", "flowGraph", "nodes", 1, "config"], "wait"),
        (
            flow(
                "f", [node("s", "start"), node("i", "if", condition="profile@x EXISTS")], [edge("s", "i", port="yes")]
            ),
            ["body", "flowGraph", "edges", 0, "sourceHandle"],
            "no output port 'yes'",
        ),
        (
            flow("f", [node("s", "start"), node("e", "end")], [edge("s", "e", target_port="other")]),
            ["body", "flowGraph", "edges", 0, "targetHandle"],
            "no input port",
        ),
        (
            flow("f", [node("s", "start")], [edge("s", "ghost")]),
            ["body", "flowGraph", "edges", 0, "target"],
            "does not exist",
        ),
        (flow("f", [node("e", "end")], []), ["body", "flowGraph", "nodes"], "start"),
        (
            flow("f", [node("s", "start"), node("e", "end"), node("lost", "end")], [edge("s", "e")]),
            ["body", "flowGraph", "nodes", 2, "id"],
            "no edge leads",
        ),
        (
            flow("f", [node("s", "start"), node("s", "end")], []),
            ["body", "flowGraph", "nodes", 1, "id"],
            "unique",
        ),
        (_loop(), ["body", "flowGraph", "nodes", 1, "id"], "loop that can never end"),
        ({"id": "f", "flowGraph": {"nodes": "many"}}, ["body", "flowGraph", "nodes"], "array"),
        ({"id": "f", "flowGraph": {}, "colour": 1}, ["body", "colour"], "unknown"),
        ({"flowGraph": {}}, ["body", "id"], "id"),
        ({"id": "", "flowGraph": {}}, ["body", "id"], "characters"),
    ],
)
async def test_a_flow_that_cannot_run_gets_422_naming_the_node_and_field(
    server: Running, doc: dict, loc: list, words: str
) -> None:
    r = await _save_flow(server, doc)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["loc"][: len(loc)] == loc, error
    assert words in r.json()["detail"] + error["msg"]
    assert (await server.client.get("/api/flows/f", headers=server.admin)).status_code == 404


async def test_a_loop_through_an_if_that_can_leave_it_is_legal(server: Running) -> None:
    nodes = [
        node("s", "start"),
        node("inc", "increment", field="memory@n"),
        node("more", "if", condition="memory@n < 3"),
    ]
    doc = flow("loop", nodes, [edge("s", "inc"), edge("inc", "more"), edge("more", "inc", port="true")])
    assert (await _save_flow(server, doc)).status_code == 200


async def test_a_draft_is_stored_with_structural_checks_only_and_never_runs(server: Running) -> None:
    doc = chain("wip", node("n", "set-data", set={"profile@traits.x": 1}), node("todo", "not-written-yet"))
    doc["draft"] = True
    assert (await _save_flow(server, doc)).status_code == 200
    body = rule("r", "page-view", "wip")
    assert (await server.client.post("/api/rules", json=body, headers=server.admin)).status_code == 200
    r = await server.track(payload())
    profile = (await server.client.get(f"/api/profiles/{r.json()['profile']['id']}", headers=server.admin)).json()
    assert profile["traits"] == {}


async def test_flow_and_rule_crud(server: Running) -> None:
    admin = server.admin
    doc = chain("crud", node("n", "log", message="hi"))
    assert (await _save_flow(server, doc)).status_code == 200
    assert (await server.client.get("/api/flows/crud", headers=admin)).json()["flowGraph"]["nodes"][1]["id"] == "n"
    assert [f["id"] for f in (await server.client.get("/api/flows", headers=admin)).json()["items"]] == ["crud"]
    r = await server.client.put("/api/flows/other", json=doc, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "id"]
    body = rule("R1", "Page View", "crud", source={"id": "Demo"})
    saved = (await server.client.post("/api/rules", json=body, headers=admin)).json()
    assert saved["event_type"]["id"] == "page-view" and saved["source"]["id"] == "demo" and saved["name"] == "R1"
    assert (await server.client.get("/api/rules/R1", headers=admin)).json()["flow"]["id"] == "crud"
    assert len((await server.client.get("/api/rules", headers=admin)).json()["items"]) == 1
    assert (await server.client.delete("/api/rules/R1", headers=admin)).status_code == 200
    assert (await server.client.get("/api/rules/R1", headers=admin)).status_code == 404
    assert (await server.client.delete("/api/flows/crud", headers=admin)).status_code == 200
    assert (await server.client.delete("/api/flows/crud", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"id": "r", "flow": {"id": "f"}}, ["body", "event_type"]),
        ({"id": "r", "event_type": {"id": ""}, "flow": {"id": "f"}}, ["body", "event_type", "id"]),
        ({"id": "r", "event_type": {"id": "x"}, "flow": {"id": "f"}, "enabled": "yes"}, ["body", "enabled"]),
        ({"id": "r", "event_type": {"id": "x"}, "flow": {"id": "f"}, "condition": "a =="}, ["body", "condition"]),
        ({"id": "r", "event_type": {"id": "x"}, "flow": {"id": "f"}, "when": 1}, ["body", "when"]),
        ({"id": " ", "event_type": {"id": "x"}, "flow": {"id": "f"}}, ["body", "id"]),
        ({"id": "r", "event_type": {"id": "x"}, "flow": {"id": "ghost"}}, ["body", "flow", "id"]),
    ],
)
async def test_bad_rules_get_422_naming_the_field(server: Running, body: dict, loc: list) -> None:
    r = await server.client.post("/api/rules", json=body, headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_broken_oversized_and_hostile_flow_documents(server: Running) -> None:
    admin = {**server.admin, "content-type": "application/json"}
    assert (await server.client.post("/api/flows", content=b"{", headers=admin)).status_code == 422
    assert (await server.client.post("/api/flows", content=b"\xff\xfe", headers=admin)).status_code == 422
    assert (await server.client.post("/api/flows", content=b"[]", headers=admin)).status_code == 422
    big = b'{"id": "f", "description": "' + b"d" * 1_100_000 + b'"}'
    assert (await server.client.post("/api/flows", content=big, headers=admin)).status_code == 413
    many = flow("f", [node(f"n{i}", "end") for i in range(501)], [])
    r = await _save_flow(server, many)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "flowGraph"]
    doc = chain("f", node("n", "set-data", set={"memory@x": "DEEP"}))
    deep = json.dumps(doc).replace('"DEEP"', '{"a": ' * 5000 + "1" + "}" * 5000).encode()
    r = await server.client.post("/api/flows", content=deep, headers=admin)
    assert r.status_code == 422, r.text
    deep = json.dumps(doc).replace('"DEEP"', '{"a": ' * 40 + "1" + "}" * 40).encode()
    r = await server.client.post("/api/flows", content=deep, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "flowGraph", "nodes", 1, "config"]
    hostile = chain("f", node("n", "set-data", set={"profile@__class__": 1, "profile@traits.<script>": "x"}))
    assert (await _save_flow(server, hostile)).status_code == 200  # names are data, never code
    r = await server.client.post("/api/flows/dry-run", json={"flow": hostile}, headers=server.admin)
    assert r.status_code == 200, r.text
    assert r.json()["trace"]["error"] and r.json()["profile"]["traits"] == {}
    assert (await server.client.get("/api/flows/" + "x" * 5000, headers=server.admin)).status_code == 404


async def test_dry_run_returns_the_trace_and_saves_nothing(server: Running) -> None:
    nodes = [node("start", "start"), node("inc", "increment", field="profile@stats.counters.n")]
    nodes += [node("p", "pause", wait=60), node("end", "end")]
    doc = flow("dry", nodes, [edge("start", "inc"), edge("inc", "p"), edge("p", "end", port="output")])
    sample = {"flow": doc, "event": {"type": "buy", "properties": {"total": 3}}, "profile": {"id": "p1"}}
    r = await server.client.post("/api/flows/dry-run", json=sample, headers=server.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["node"] for s in body["trace"]["steps"]] == ["start", "inc", "p"]
    assert body["profile"]["stats"]["counters"]["n"] == 1 and body["event"]["type"] == "buy"
    assert body["scheduled"] == [{"node": "p", "port": "output", "delay": 60.0}]
    for path in ("/api/flows/dry", "/api/profiles/p1"):
        assert (await server.client.get(path, headers=server.admin)).status_code == 404
    queues = (await server.client.get("/api/queues", headers=server.admin)).json()
    assert queues["scheduler:delayed"]["depth"] == 0
    assert (await _save_flow(server, doc)).status_code == 200
    r = await server.client.post("/api/flows/dry/dry-run", json={"profile": {"id": 5}}, headers=server.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", "profile"]


async def test_the_action_catalogue_lists_docs_ports_and_config_schemas(server: Running) -> None:
    r = await server.client.get("/api/actions", headers=server.admin)
    assert r.status_code == 200
    actions = {a["id"]: a for a in r.json()["items"]}
    assert {"start", "end", "if", "set-data", "copy-data", "delete-data", "increment", "decrement"} <= set(actions)
    assert {"add-segment", "remove-segment", "log", "pause", "background"} <= set(actions)
    assert actions["if"]["outputs"] == ["true", "false"] and actions["start"]["inputs"] == []
    assert "condition" in str(actions["if"]["config_schema"]) and actions["increment"]["doc"]
    assert (await server.client.get("/api/actions")).status_code == 401


async def test_broken_and_oversized_rule_bodies(server: Running) -> None:
    admin = {**server.admin, "content-type": "application/json"}
    assert (await server.client.post("/api/rules", content=b'{"id": ', headers=admin)).status_code == 422
    big = b'{"id": "r", "description": "' + b"d" * 70_000 + b'"}'
    assert (await server.client.post("/api/rules", content=big, headers=admin)).status_code == 413
    body = rule("r", "x", "f", condition="profile@a == 1 AND " * 600 + "profile@a == 1")
    r = await server.client.post("/api/rules", json=body, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "condition"]
    r = await server.client.put("/api/rules/other", json=rule("r", "x", "f"), headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "id"]
    assert (await server.client.get("/api/rules", headers=admin)).json()["items"] == []


async def test_openapi_describes_the_workflow_endpoints(server: Running) -> None:
    doc = (await server.client.get("/openapi.json")).json()
    assert {"/api/rules", "/api/flows/{flow_id}", "/api/flows/dry-run", "/api/actions"} <= set(doc["paths"])
    assert "sourceHandle" in doc["components"]["schemas"]["FlowEdge"]["properties"]
