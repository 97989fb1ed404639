"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import json_response
from tracardi.api.routes._common import services
from tracardi.log import get_logger
from tracardi.storage import StorageError

log = get_logger("api")


async def healthz(request: Request) -> Response:
    """The process is alive and serving."""
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Every dependency answers: 200, else 503 with each check's outcome."""
    checks = await services(request).readiness()
    ready = all(v == "ok" for v in checks.values())
    return json_response({"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503)


async def metrics(request: Request) -> Response:
    """Prometheus text exposition (queue depths and ages are read now)."""
    svc = services(request)
    try:
        await svc.queues.stats()
    except StorageError as exc:
        log.warning("queue_stats_unavailable", error=str(exc))
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
