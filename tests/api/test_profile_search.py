"""``POST /api/profiles/search`` over HTTP: TQL conditions, paging, and broken, oversized and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Running, payload
from tracardi.domain.profile import Profile
from tracardi.storage import PROFILES, Put

SEARCH = "/api/profiles/search"
T0 = datetime(2024, 5, 1, tzinfo=UTC)


async def _seed(server: Running) -> None:
    docs = []
    for i, (tier, email, segments) in enumerate(
        [
            ("gold", "ann@gmail.com", ["vip", "newsletter"]),
            ("silver", "bob@yahoo.com", ["newsletter"]),
            ("gold", "cid@gmail.com", []),
            (None, None, ["vip"]),
        ]
    ):
        doc = Profile(id=f"p{i}", ids=[f"p{i}"], segments=segments, traits={"tier": tier} if tier else {})
        doc.data.contact.email.main = email
        doc.stats.visits = i
        doc.metadata.time.insert = T0 + timedelta(days=i)
        docs.append(Put(PROFILES, doc.id, doc))
    assert all(r.ok for r in await server.services.store.bulk(docs))


async def _ids(server: Running, where: str, **body: object) -> list[str]:
    r = await server.client.post(SEARCH, json={"where": where, **body}, headers=server.admin)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('traits.tier == "gold"', ["p2", "p0"]),
        ('profile@segments CONTAINS "vip" AND stats.visits >= 1', ["p3"]),
        ('data.contact.email.main ENDS WITH "@gmail.com" OR traits.tier == "silver"', ["p2", "p1", "p0"]),
        ('NOT segments == "newsletter"', ["p3", "p2"]),
        ("traits.tier NOT EXISTS", ["p3"]),
        ("metadata.time.insert BETWEEN 2024-05-02 AND 2024-05-03T00:00:00Z", ["p2", "p1"]),
        ('traits.tier IN ("silver", "bronze")', ["p1"]),
        ('data.contact.email.main STARTS WITH "ann"', ["p0"]),
        ("stats.visits > 100", []),
    ],
)
async def test_search_selects_matching_profiles_newest_first(server: Running, where: str, expected: list[str]) -> None:
    await _seed(server)
    assert await _ids(server, where) == expected


async def test_search_finds_tracked_profiles_and_pages_like_the_lists(server: Running) -> None:
    tracked = []
    for views in (1, 2, 3):
        events = [{"type": "page-view"}] * views
        tracked.append((await server.track(payload(*events))).json()["profile"]["id"])
    assert set(await _ids(server, "stats.views >= 2")) == set(tracked[1:])
    seen: list[str] = []
    after = None
    for _ in range(3):
        r = await server.client.post(
            SEARCH, json={"where": "stats.visits == 1", "limit": 1, "after": after}, headers=server.admin
        )
        assert r.status_code == 200
        seen.extend(item["id"] for item in r.json()["items"])
        after = r.json()["next"]
    assert seen == tracked[::-1]
    assert after is None or (await _ids(server, "stats.visits == 1", limit=1, after=after)) == []


async def test_search_needs_the_admin_token(server: Running) -> None:
    r = await server.client.post(SEARCH, json={"where": "stats.visits > 1"})
    assert r.status_code == 401
    r = await server.client.post(SEARCH, json={"where": "stats.visits > 1"}, headers={"authorization": "Bearer x"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("where", "position", "token"),
    [
        ("stats.visits > 1 AND AND x == 1", 21, "AND"),
        ("stats.visits >", 14, ""),
        ('traits.tier == "gold', 15, '"gold'),
        ("user@x == 1", 0, "user@x"),
        ("stats.visits > 1; DROP TABLE profile", 16, ";"),
        ("(" * 40 + "a EXISTS" + ")" * 40, 32, "("),
        ("", 0, ""),
    ],
)
async def test_a_syntax_error_is_a_422_naming_position_and_token(
    server: Running, where: str, position: int, token: str
) -> None:
    r = await server.client.post(SEARCH, json={"where": where}, headers=server.admin)
    assert r.status_code == 422, r.text
    body = r.json()
    error = body["errors"][0]
    assert error["loc"] == ["body", "where"]
    assert (error["position"], error["token"]) == (position, token)
    assert f"at {position}" in body["detail"]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ('event@type == "purchase"', "event@type reads the event"),
        ("stats.visits > stats.views", "cannot compare two fields"),
    ],
)
async def test_a_condition_that_cannot_be_searched_is_a_422(server: Running, where: str, message: str) -> None:
    r = await server.client.post(SEARCH, json={"where": where}, headers=server.admin)
    assert r.status_code == 422
    assert message in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["body", "where"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b"{", ["body"]),
        (b"[]", ["body"]),
        (b'{"limit": 5}', ["body", "where"]),
        (b'{"where": 5}', ["body", "where"]),
        (b'{"where": "a EXISTS", "limit": 0}', ["body", "limit"]),
        (b'{"where": "a EXISTS", "limit": 1001}', ["body", "limit"]),
        (b'{"where": "a EXISTS", "cursor": "x"}', ["body", "cursor"]),
        (b'{"where": "a EXISTS", "after": 1}', ["body", "after"]),
        (b'{"where": "\\ud800 EXISTS"}', ["body"]),
        (b'{"where": "a == \\"\xff\\""}', ["body"]),
        (b'{"where": "' + b"a" * 10_001 + b'"}', ["body", "where"]),
    ],
)
async def test_broken_bodies_are_422_naming_the_field(server: Running, body: bytes, loc: list[object]) -> None:
    r = await server.client.post(SEARCH, content=body, headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_oversized_and_hostile_input_is_refused_cleanly(server: Running) -> None:
    await _seed(server)
    r = await server.client.post(SEARCH, content=b'{"where": "' + b"x" * 200_000 + b'"}', headers=server.admin)
    assert r.status_code == 413
    hostile = [
        "traits.tier == \"x' OR '1'='1\"",
        'traits.tier == "gold") OR 1=1 --"',
        "NOT " * 2000 + "a EXISTS",
        " OR ".join(f"traits.t{i} == {i}" for i in range(700)),
        "a" * 300 + " EXISTS",
        "stats.visits == 99999999999999999999999",
        'traits.tier CONTAINS "%" OR traits.tier CONTAINS "_" OR traits.tier STARTS WITH "*"',
    ]
    for where in hostile:
        r = await server.client.post(SEARCH, json={"where": where}, headers=server.admin)
        assert r.status_code in (200, 422), (where[:50], r.text)
        assert r.status_code == 422 or r.json()["items"] == []
    r = await server.client.post(SEARCH, json={"where": "a EXISTS", "after": "garbage"}, headers=server.admin)
    assert r.status_code == 422
    assert await _ids(server, "stats.visits >= 0") == ["p3", "p2", "p1", "p0"]  # nothing was changed


async def test_the_endpoint_is_in_the_openapi_document(server: Running) -> None:
    doc = (await server.client.get("/openapi.json")).json()
    post = doc["paths"]["/api/profiles/search"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProfileSearch")
    assert {"200", "401", "413", "422"} <= set(post["responses"])
    assert set(doc["components"]["schemas"]["ProfileSearch"]["properties"]) == {"where", "limit", "after"}
