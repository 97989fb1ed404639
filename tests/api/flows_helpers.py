"""Building flow documents for tests: a chain of nodes from a start node, wired port to port."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from tests.conftest import Running


def node(node_id: str, action: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "action": action, "config": config}


def edge(source: str, target: str, port: str = "payload", target_port: str = "payload") -> dict[str, Any]:
    return {"id": f"{source}-{port}-{target}", "source": source, "sourceHandle": port, "target": target,
            "targetHandle": target_port}  # fmt: skip


def flow(flow_id: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"id": flow_id, "name": flow_id, "flowGraph": {"nodes": nodes, "edges": edges}, **top}


def chain(flow_id: str, *steps: dict[str, Any]) -> dict[str, Any]:
    """start -> steps[0] -> steps[1] ... -> end, each on its ``payload`` port."""
    nodes = [node("start", "start"), *steps, node("end", "end")]
    edges = [edge(a["id"], b["id"]) for a, b in pairwise(nodes)]
    return flow(flow_id, nodes, edges)


def rule(rule_id: str, event_type: str, flow_id: str, **top: Any) -> dict[str, Any]:
    return {"id": rule_id, "event_type": {"id": event_type}, "flow": {"id": flow_id}, **top}


async def install(server: Running, flow_doc: dict[str, Any], event_type: str, **rule_fields: Any) -> None:
    """Save the flow and a rule routing ``event_type`` to it; both must be accepted."""
    r = await server.client.post("/api/flows", json=flow_doc, headers=server.admin)
    assert r.status_code == 200, r.text
    body = rule(f"rule-{flow_doc['id']}", event_type, flow_doc["id"], **rule_fields)
    r = await server.client.post("/api/rules", json=body, headers=server.admin)
    assert r.status_code == 200, r.text
