"""Start background work by hand: ``POST /api/tasks/{queue}`` with the queue's message, read a task's progress by
its job id, and see the schema versions ``migration:worker`` upgrades (``GET /api/migrations``)."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_json
from tracardi.api.errors import json_response
from tracardi.api.routes._common import services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.errors import FieldError, InvalidInput, NotFoundError
from tracardi.domain.messages import QUEUE_MESSAGES, check_message

MAX_TASK_BYTES = 256 * 1024
MAX_IDS = 10_000
_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(kind) for name, kind in QUEUE_MESSAGES.items()
}


@admin
async def start(request: Request) -> Response:
    """Enqueue the message in the body on the named queue; answers 202 with the job id."""
    name = request.path_params["queue"]
    decoder = _decoders.get(name)
    if decoder is None:
        raise NotFoundError(f"No task queue `{name[:200]}`; tasks go to {', '.join(QUEUE_MESSAGES)}.")
    message = await read_json(request, decoder, MAX_TASK_BYTES)
    if len(getattr(message, "event_ids", ())) > MAX_IDS:
        raise InvalidInput(f"At most {MAX_IDS} event ids per task.", [FieldError(["body", "event_ids"], "too many")])
    check_message(message)
    job_id = await services(request).background.send(name, message)
    return json_response({"job_id": job_id, "queue": name}, 202)


@admin
async def progress(request: Request) -> Response:
    """The progress of a task started with a query (``copy-event-props-to-traits-where``,
    ``copy-events-to-profiles``), by its job id."""
    job_id = request.path_params["job_id"]
    if len(job_id) > 512:
        raise InvalidInput("job id must have at most 512 characters.", [FieldError(["path", "job_id"], "length")])
    return json_response(await services(request).tasks.progress(job_id))


@admin
async def migrations(request: Request) -> Response:
    """Which version serves each index (and event month), whether it needs ``migrate up``, what cleanup would drop."""
    states = await services(request).tasks.migration_status()
    return json_response({"items": states})


routes = [
    Route("/migrations", migrations, methods=["GET"]),
    Route("/tasks/{queue}", start, methods=["POST"]),
    Route("/tasks/{queue}/{job_id}", progress, methods=["GET"]),
]
