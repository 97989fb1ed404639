"""Admin view of the work queues: ``/api/queues`` depths and ages, dead letters to list, replay or drop."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_params, services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.storage import DeadLetter

MAX_ID = 512


def job_id_param(request: Request) -> str:
    job_id: str = request.path_params["job_id"]
    if not job_id or len(job_id) > MAX_ID:
        raise InvalidInput(f"job id must have 1 to {MAX_ID} characters.", [FieldError(["path", "job_id"], "length")])
    return job_id


def _letter(dead: DeadLetter) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": dead.id,
        "queue": dead.queue,
        "attempts": dead.attempts,
        "error": dead.error,
        "failed_at": dead.failed_at,
    }
    try:
        out["message"] = msgspec.json.decode(dead.body)
    except msgspec.DecodeError:
        out["message"] = None
        out["raw"] = dead.body[:4096].decode("utf-8", "replace")
    return out


@admin
async def listing(request: Request) -> Response:
    """Every queue: ready, in flight, delayed, dead, depth, and the oldest waiting job's age in seconds."""
    stats = await services(request).queues.stats()
    return json_response({name: {**dataclasses.asdict(s), "depth": s.depth} for name, s in stats.items()})


@admin
async def dead_letters(request: Request) -> Response:
    limit, _ = page_params(request, default=100, maximum=1000)
    letters = await services(request).queues.dead_letters(request.path_params["queue"], limit)
    return json_response({"items": [_letter(d) for d in letters]})


@admin
async def replay(request: Request) -> Response:
    name, job_id = request.path_params["queue"], job_id_param(request)
    await services(request).queues.replay(name, job_id)
    return json_response({"replayed": job_id, "queue": name})


@admin
async def drop(request: Request) -> Response:
    name, job_id = request.path_params["queue"], job_id_param(request)
    await services(request).queues.drop(name, job_id)
    return json_response({"dropped": job_id, "queue": name})


routes = [
    Route("/queues", listing, methods=["GET"]),
    Route("/queues/{queue}/dead", dead_letters, methods=["GET"]),
    Route("/queues/{queue}/dead/{job_id:path}/replay", replay, methods=["POST"]),
    Route("/queues/{queue}/dead/{job_id:path}", drop, methods=["DELETE"]),
]
