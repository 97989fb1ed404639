"""Health, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from tests.conftest import Running, payload


async def test_health_and_readiness(server: Running) -> None:
    assert (await server.client.get("/healthz")).json() == {"status": "ok"}
    r = await server.client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "checks": {"storage": "ok", "queue": "ok"}}


async def test_readiness_fails_when_storage_is_closed(server: Running) -> None:
    await server.services.store.close()
    r = await server.client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["storage"].startswith("unavailable")


async def test_metrics_count_accepted_and_rejected_events_and_latency(server: Running) -> None:
    await server.track(payload({"type": "a"}, {"type": "b"}))
    await server.track(payload(source="nope"))
    await server.client.post("/track", content=b"{")
    text = (await server.client.get("/metrics")).text
    assert 'tracardi_events_accepted_total{source="demo"} 5.0' in text  # 2 user + 3 system events
    assert 'tracardi_events_rejected_total{reason="source"} 1.0' in text
    assert 'tracardi_events_rejected_total{reason="invalid_body"} 1.0' in text
    assert 'tracardi_request_seconds_bucket{le="0.05",route="/track",status="2xx"}' in text
    assert 'tracardi_request_seconds_count{route="/track",status="4xx"} 2.0' in text
    assert "tracardi_requests_inflight 1.0" in text  # the scrape itself; every /track before it has finished


async def test_every_response_has_process_time_and_request_id(server: Running) -> None:
    r = await server.track(payload(), headers={"x-request-id": "abc-123"})
    assert float(r.headers["x-process-time"]) >= 0
    assert r.headers["x-request-id"] == "abc-123"


async def test_openapi_describes_collector_and_admin(server: Running) -> None:
    doc = (await server.client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    for path in (
        "/track",
        "/collect/{event_type}/{source_id}",
        "/api/sources",
        "/api/profiles/{id}",
        "/api/profiles/{id}/events",
        "/api/segments",
        "/api/event-schemas/{id}",
        "/api/merge-keys",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in doc["paths"], path
    tracker = doc["components"]["schemas"]["TrackerPayload"]
    assert "source" in tracker["required"]
    assert "Profile" in doc["components"]["schemas"]
    assert "mappings" in doc["components"]["schemas"]["EventToProfile"]["required"]
