"""Tracker payloads for the benchmark scenarios, and the warm-up that creates returning profiles."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
SOURCE_ID = "demo"
# (event type, properties) cycled through the 10-event payload: a small shopping visit
_MIXED = (
    ("page-view", {"title": "P1", "price": 10.5}),
    ("product-view", {"sku": "SKU-1", "name": "Mug", "price": 10.5, "category": "kitchen"}),
    ("add-to-cart", {"sku": "SKU-1", "quantity": 2, "price": 10.5}),
)


@dataclass(frozen=True)
class Pair:
    """A returning visitor: the profile and session ids the server handed out."""

    profile: str
    session: str


@dataclass(frozen=True)
class Scenario:
    """One load shape: how many events per request and whether the visitor returns."""

    name: str
    title: str
    events: int
    returning: bool
    event: tuple[str, dict[str, Any]] | None = None  # every event of the body is this (type, properties)


SCENARIOS: dict[str, Scenario] = {
    "page-view": Scenario("page-view", "1 page-view, returning profile", events=1, returning=True),
    # routed by the rule bench/flows.py installs: if, set data, increase counter, add segment, end. Measured in the
    # same rounds as page-view, its ratio's denominator (run.py), before the scenarios that add many documents.
    "flow": Scenario(
        "flow", "1 event through a 5-node flow", events=1, returning=True, event=("bench-flow", {"total": 150})
    ),
    "ten-events": Scenario("ten-events", "10 events, returning profile", events=10, returning=True),
    "new-profile": Scenario("new-profile", "1 page-view, new profile", events=1, returning=False),
}


def _page(n: int) -> dict[str, str]:
    return {"url": f"https://shop.example/p/{n}", "path": f"/p/{n}", "title": f"P{n}"}


def _event(i: int, fixed: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    kind, props = fixed or _MIXED[i % len(_MIXED)]
    page = _page(i % 5 + 1)
    return {"type": kind, "properties": props, "context": {"page": {"url": page["url"], "title": page["title"]}}}


def body(events: int, pair: Pair | None, fixed: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A tracker payload with this many events (``fixed``: all of this type and properties), for a returning pair
    or (None) a brand-new visitor."""
    payload: dict[str, Any] = {
        "source": {"id": SOURCE_ID},
        "context": {"browser": {"local": {"browser": {"userAgent": USER_AGENT}}}, "page": _page(1)},
        "properties": {},
        "events": [_event(i, fixed) for i in range(events)],
        "options": {},
    }
    if pair is not None:
        payload["session"] = {"id": pair.session}
        payload["profile"] = {"id": pair.profile}
    return payload


def bodies(scenario: Scenario, pairs: list[Pair]) -> list[bytes]:
    """Every body wrk cycles through: one per pair, or one static body for new visitors."""
    if not scenario.returning:
        return [_dump(body(scenario.events, None, scenario.event))]
    return [_dump(body(scenario.events, pair, scenario.event)) for pair in pairs]


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class WarmupError(RuntimeError):
    """The target did not answer /track as the collector should."""


def _post(conn: http.client.HTTPConnection, payload: dict[str, Any]) -> dict[str, Any]:
    conn.request("POST", "/track", body=_dump(payload), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    if resp.status != 200:
        raise WarmupError(f"POST /track answered {resp.status}: {raw[:300]!r}")
    answer: dict[str, Any] = json.loads(raw)
    return answer


def _id(answer: dict[str, Any], key: str) -> str:
    """answer[key]["id"], or WarmupError when the response does not have the collector's shape."""
    entity = answer.get(key)
    if not isinstance(entity, dict) or not isinstance(entity.get("id"), str) or not entity["id"]:
        raise WarmupError(f"POST /track answered without a {key} id: {json.dumps(answer)[:300]}")
    return str(entity["id"])


def create_pairs(port: int, count: int) -> list[Pair]:
    """Make `count` visitors (no ids sent) and keep the profile/session ids the target returns."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        pairs = []
        for _ in range(count):
            answer = _post(conn, body(1, None))
            pairs.append(Pair(profile=_id(answer, "profile"), session=_id(answer, "session")))
        return pairs
    finally:
        conn.close()


def count_returning(port: int, pairs: list[Pair]) -> int:
    """Send each pair once more; how many came back with the same profile id (the server recognised them)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        return sum(1 for pair in pairs if _id(_post(conn, body(1, pair)), "profile") == pair.profile)
    finally:
        conn.close()
