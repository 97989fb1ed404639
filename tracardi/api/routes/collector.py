"""The collector: ``POST /track`` and the webhook-style ``/collect/{event_type}/{source_id}[/{session_id}]``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_body, read_json
from tracardi.api.routes._common import rejection_reason, request_info, services, track_reply
from tracardi.api.services import ApiServices
from tracardi.domain.errors import DomainError, FieldError, InvalidInput
from tracardi.domain.payload import EventPayload, OptionalRef, SourceRef, TrackerPayload

_NULL = b"null"
_object_decoder = msgspec.json.Decoder(dict[str, Any])


async def _run(
    svc: ApiServices, request: Request, payload: TrackerPayload, endpoint: str, profile_less: bool
) -> Response:
    try:
        info = request_info(request, svc)
        result = await svc.tracker.track(payload, info, endpoint=endpoint, profile_less=profile_less)
    except DomainError as exc:
        svc.metrics.events_rejected.labels(rejection_reason(exc)).inc()
        raise
    status, body = track_reply(svc, result)
    return Response(body, status, media_type="application/json")


async def track_put(request: Request) -> Response:
    """Tracardi's PUT /track: validates the body and answers null (kept for client compatibility)."""
    svc = services(request)
    await read_json(request, svc.payload_decoder, svc.options.max_body_bytes)
    return Response(_NULL, 200, media_type="application/json")


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Keys seen once become strings, repeated keys lists of strings (as Tracardi's /collect)."""
    props: dict[str, Any] = {}
    for key, value in pairs:
        if key not in props:
            props[key] = value
        elif isinstance(props[key], list):
            props[key].append(value)
        else:
            props[key] = [props[key], value]
    return props


def _form_properties(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput("The form body is not valid UTF-8.", [FieldError(["body"], "invalid UTF-8")]) from exc
    try:
        return _grouped(parse_qsl(text, keep_blank_values=True, max_num_fields=1000))
    except ValueError as exc:
        raise InvalidInput("The form has more than 1000 fields.", [FieldError(["body"], str(exc))]) from exc


def _query_properties(request: Request) -> dict[str, Any]:
    return _grouped(request.query_params.multi_items())


async def _body_properties(request: Request, svc: ApiServices, json_only: bool) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, svc.options.max_body_bytes)
    if not json_only and ctype == "application/x-www-form-urlencoded":
        return _form_properties(body)
    if not body.strip():
        return {}
    try:
        return _object_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("The body must be a JSON object (or a form).", [FieldError(["body"], str(exc))]) from exc


async def collect(request: Request) -> Response:
    """Webhook-style tracking: one event of ``event_type``; query string (GET) or body (POST) as properties."""
    svc = services(request)
    params = request.path_params
    session_id: str | None = params.get("session_id")
    if request.method == "GET":
        properties = _query_properties(request)
    else:
        properties = await _body_properties(request, svc, json_only=session_id is not None)
    payload = TrackerPayload(
        source=SourceRef(id=params["source_id"]),
        session=OptionalRef(id=session_id) if session_id else None,
        events=[EventPayload(type=params["event_type"], properties=properties)],
        options={"saveSession": session_id is not None},
    )
    return await _run(svc, request, payload, "webhook", profile_less=session_id is None)


routes = [
    # POST /track is served by tracardi.api.fast_track in front of the router
    Route("/track", track_put, methods=["PUT"]),
    Route("/collect/{event_type}/{source_id}", collect, methods=["GET", "POST"]),
    Route("/collect/{event_type}/{source_id}/{session_id}", collect, methods=["GET", "POST"]),
]
