"""Admin view of scheduled jobs: ``/api/jobs`` definitions with their last run, run history, run now."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import error_response, json_response
from tracardi.api.routes._common import page_params, services
from tracardi.api.routes.admin._auth import admin


@admin
async def listing(request: Request) -> Response:
    """Every configured job and its most recent run."""
    jobs = services(request).jobs
    out = []
    for spec in jobs.specs.values():
        last = await jobs.last_runs(spec.name, 1)
        out.append({"definition": spec, "last_run": last[0] if last else None})
    return json_response({"items": out})


@admin
async def runs(request: Request) -> Response:
    limit, _ = page_params(request, default=10, maximum=100)
    return json_response({"items": await services(request).jobs.last_runs(request.path_params["name"], limit)})


@admin
async def run_now(request: Request) -> Response:
    """Run the job now (the caller waits for it) and answer its run record."""
    jobs = services(request).jobs
    name = request.path_params["name"]
    jobs.spec(name)
    record = await jobs.run(name, datetime.now(UTC), manual=True)
    if record is None:
        return error_response(409, f"Job `{name}` is already running for this time; retry in a moment.")
    return json_response(record)


routes = [
    Route("/jobs", listing, methods=["GET"]),
    Route("/jobs/{name}/runs", runs, methods=["GET"]),
    Route("/jobs/{name}/run", run_now, methods=["POST"]),
]
