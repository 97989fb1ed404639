"""Event statistics over HTTP, on both backends: counts by type and a histogram, filtered, with bad input refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Running, SettingsFactory, payload, start_server


@pytest.fixture(params=["embedded", "opensearch"])
async def app(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> AsyncIterator[Running]:
    quiet = {"system_events": False}  # only the events the test sends
    if request.param == "embedded":
        settings = make_settings(tracker=quiet)
    else:
        osmem_url = request.getfixturevalue("osmem_url")
        prefix = f"tracardi-test-{uuid.uuid4().hex[:8]}:"
        settings = make_settings(
            tracker=quiet,
            storage={"backend": "opensearch"},
            opensearch={"hosts": osmem_url, "prefix": "stats"},
            redis={"url": request.getfixturevalue("redis_url"), "prefix": prefix},
        )
    async for running in start_server(settings):
        yield running


async def _seed(app: Running) -> tuple[str, str]:
    """Profile A: 3 page views and a purchase; profile B: one page view."""
    events = [{"type": "page-view"}] * 3 + [{"type": "purchase"}]
    a = (await app.track(payload(*events))).json()["profile"]["id"]
    b = (await app.track(payload({"type": "page-view"}))).json()["profile"]["id"]
    return a, b


async def _get(app: Running, path: str, **params: str) -> dict:
    r = await app.client.get(path, params=params, headers=app.admin)
    assert r.status_code == 200, r.text
    return r.json()


async def test_count_by_type_counts_every_type_most_frequent_first(app: Running) -> None:
    _, b = await _seed(app)
    everything = await _get(app, "/api/events/count-by-type")
    assert everything["items"] == [{"type": "page-view", "count": 4}, {"type": "purchase", "count": 1}]
    assert (await _get(app, "/api/events/count-by-type", limit="1"))["items"] == [{"type": "page-view", "count": 4}]
    of_b = await _get(app, "/api/events/count-by-type", profile=b)
    assert of_b["items"] == [{"type": "page-view", "count": 1}]
    assert (await _get(app, "/api/events/count-by-type", source="demo"))["items"][0]["count"] == 4
    assert (await _get(app, "/api/events/count-by-type", source="other"))["items"] == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await _get(app, "/api/events/count-by-type", since=future))["items"] == []
    assert (await _get(app, "/api/events/count-by-type", until=future))["items"][1] == {"type": "purchase", "count": 1}


async def test_histogram_counts_events_per_interval(app: Running) -> None:
    a, _ = await _seed(app)
    now = datetime.now(UTC)
    since, until = (now - timedelta(hours=2)).isoformat(), (now + timedelta(hours=1)).isoformat()
    hourly = await _get(app, "/api/events/histogram", interval="hour", since=since, until=until)
    assert hourly["interval"] == "hour"
    assert len(hourly["items"]) in (3, 4)
    assert sum(item["count"] for item in hourly["items"]) == 5
    assert [item["count"] for item in hourly["items"]][:2] == [0, 0]
    of_a = await _get(
        app, "/api/events/histogram", interval="hour", since=since, until=until, profile=a, type="purchase"
    )
    assert sum(item["count"] for item in of_a["items"]) == 1
    daily = await _get(app, "/api/events/histogram")  # default: the last 30 days by day
    assert len(daily["items"]) in (30, 31) and daily["items"][-1]["count"] == 5
    first = datetime.fromisoformat(daily["items"][0]["start"])
    assert first.hour == 0 and first.tzinfo is not None


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("histogram", {"interval": "year"}, ["query", "interval"]),
        ("histogram", {"interval": "hour", "since": "2000-01-01T00:00:00Z"}, ["query", "since"]),
        ("histogram", {"since": "yesterday"}, ["query", "since"]),
        ("histogram", {"until": "2024-13-45"}, ["query", "until"]),
        ("histogram", {"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, ["query", "since"]),
        ("count-by-type", {"limit": "0"}, ["query", "limit"]),
        ("count-by-type", {"limit": "1001"}, ["query", "limit"]),
        ("count-by-type", {"since": "9" * 10_000}, ["query", "since"]),
        ("count-by-type", {"source": "x" * 513}, ["query", "source"]),
        ("count-by-type", {"profile": "p" * 10_000}, ["query", "profile"]),
    ],
)
async def test_bad_parameters_are_refused_naming_the_parameter(
    app: Running, path: str, params: dict[str, str], loc: list[str]
) -> None:
    r = await app.client.get(f"/api/events/{path}", params=params, headers=app.admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc


async def test_hostile_filter_values_are_data(app: Running) -> None:
    await _seed(app)
    for value in ("' OR 1=1 --", '"}},{"match_all":{}}', "\x00", "☃" * 100):
        assert (await _get(app, "/api/events/count-by-type", source=value))["items"] == []
        histogram = await _get(app, "/api/events/histogram", profile=value)
        assert sum(item["count"] for item in histogram["items"]) == 0


async def test_statistics_need_the_admin_token(app: Running) -> None:
    for path in ("count-by-type", "histogram"):
        assert (await app.client.get(f"/api/events/{path}")).status_code == 401


async def test_openapi_describes_the_statistics(server: Running) -> None:
    paths = (await server.client.get("/openapi.json")).json()["paths"]
    histogram = paths["/api/events/histogram"]["get"]
    assert {p["name"] for p in histogram["parameters"]} == {"interval", "source", "profile", "type", "since", "until"}
    assert "limit" in {p["name"] for p in paths["/api/events/count-by-type"]["get"]["parameters"]}
