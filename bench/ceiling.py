"""The ceiling: a bare Starlette /track that only decodes the tracker payload and answers the collector's shape.

Run it the way ``bench/run.py`` does (same uvicorn flags as the server, one worker)::

    python -m uvicorn --app-dir bench ceiling:app --port 8687 --loop uvloop --http httptools \
        --no-access-log --log-level warning --no-server-header

Whatever the real /track costs above this endpoint is the price of the CDP work itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Entity(msgspec.Struct, kw_only=True):
    """A reference by id: the event source, a session or a profile."""

    id: str


class EventPayload(msgspec.Struct, kw_only=True):
    """One tracked event as the tracker sends it."""

    type: str
    properties: dict[str, Any] = {}
    context: dict[str, Any] = {}
    options: dict[str, Any] = {}
    tags: list[str] = []


class TrackerPayload(msgspec.Struct, kw_only=True):
    """The Tracardi tracker payload; unknown fields are tolerated like on the real collector."""

    source: Entity
    session: Entity | None = None
    profile: Entity | None = None
    context: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    events: list[EventPayload] = []
    options: dict[str, Any] = {}


class TrackResponse(msgspec.Struct, kw_only=True):
    """The collector's answer, field for field."""

    task: str
    ux: list[Any]
    response: dict[str, Any]
    events: list[Any]
    profile: Entity
    session: Entity
    errors: list[str]
    warnings: list[str]


_DECODER = msgspec.json.Decoder(TrackerPayload)
_ENCODER = msgspec.json.Encoder()
_JSON = "application/json"


def _id_or_new(entity: Entity | None) -> str:
    return entity.id if entity is not None and entity.id else str(uuid.uuid4())


async def track(request: Request) -> Response:
    """Decode, then answer with the same profile/session (or new ids) and a fresh task id."""
    try:
        payload = _DECODER.decode(await request.body())
    except msgspec.DecodeError as exc:
        return Response(_ENCODER.encode({"detail": str(exc)}), status_code=422, media_type=_JSON)
    answer = TrackResponse(
        task=str(uuid.uuid4()),
        ux=[],
        response={},
        events=[],
        profile=Entity(id=_id_or_new(payload.profile)),
        session=Entity(id=_id_or_new(payload.session)),
        errors=[],
        warnings=[],
    )
    return Response(_ENCODER.encode(answer), media_type=_JSON)


async def healthz(_: Request) -> Response:
    """Readiness, like the server's."""
    return Response(b'{"status":"ok"}', media_type=_JSON)


app = Starlette(routes=[Route("/track", track, methods=["POST"]), Route("/healthz", healthz)])
