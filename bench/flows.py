"""The configuration the ``flow`` scenario needs on the server, installed through the admin API before the runs.

One rule routes ``bench-flow`` events from the bench source to a 5-node flow (after its start node): if, set data,
increase counter, add segment, end; and one post-event segment is checked after every ``bench-flow`` event (the
issue's scenario). Append to ``SETUP`` what a scenario should also exercise as (path, document) pairs POSTed in order.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from payloads import SOURCE_ID, WarmupError

FLOW_ID = "bench-flow"


def _node(node_id: str, action: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "action": action, "config": config}


def _edge(source: str, target: str, port: str = "payload") -> dict[str, Any]:
    return {"source": source, "sourceHandle": port, "target": target, "targetHandle": "payload"}


FLOW: dict[str, Any] = {
    "id": FLOW_ID,
    "name": "Bench: if, set data, increase counter, add segment, end",
    "flowGraph": {
        "nodes": [
            _node("start", "start"),
            _node("big", "if", condition="event@properties.total >= 100"),
            _node("tier", "set-data", set={"profile@traits.tier": "gold"}),
            _node("count", "increment", field="profile@stats.counters.big-orders"),
            _node("segment", "add-segment", segment="big-spenders"),
            _node("end", "end"),
        ],
        "edges": [
            _edge("start", "big"),
            _edge("big", "tier", "true"),
            _edge("tier", "count"),
            _edge("count", "segment"),
            _edge("segment", "end"),
        ],
    },
}

RULE: dict[str, Any] = {
    "id": "bench-flow-rule",
    "event_type": {"id": "bench-flow"},
    "source": {"id": SOURCE_ID},
    "flow": {"id": FLOW_ID},
}

SEGMENT: dict[str, Any] = {
    "id": "bench-regulars",
    "name": "Regulars",
    "condition": "profile@stats.counters.big-orders >= 2 AND profile@traits.tier == 'gold'",
    "event_types": ["bench-flow"],
}

SETUP: list[tuple[str, dict[str, Any]]] = [("/api/flows", FLOW), ("/api/rules", RULE), ("/api/segments", SEGMENT)]


def install(port: int, token: str) -> None:
    """POST every SETUP document to the server's admin API; WarmupError when one is refused."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        for path, doc in SETUP:
            conn.request("POST", path, body=json.dumps(doc), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status >= 300:
                raise WarmupError(f"POST {path} answered {resp.status}: {raw[:300]!r}")
    finally:
        conn.close()


def verify(port: int, token: str, profile_id: str) -> None:
    """Check that the flow really ran for a profile the flow scenario tracked (WarmupError otherwise)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/api/profiles/{profile_id}", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        profile = json.loads(resp.read())
    finally:
        conn.close()
    segments = profile.get("segments", [])
    counted = profile["stats"]["counters"].get("big-orders")
    if "big-spenders" not in segments or "regulars" not in segments or not counted:
        raise WarmupError(f"the bench flow did not run for profile {profile_id}: {json.dumps(profile)[:300]}")
