"""``/openapi.json``: the collector and admin endpoints, with schemas generated from the msgspec Structs."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi import __version__
from tracardi.api.errors import json_response
from tracardi.api.routes.admin.sources import SourceInput
from tracardi.domain import Event, EventSource, Profile, Session, TrackerPayload, TrackResponse


class ErrorBody(msgspec.Struct):
    """Every error: a message and the fields at fault."""

    detail: str
    errors: list[dict[str, Any]] = []


_MODELS = (TrackerPayload, TrackResponse, EventSource, SourceInput, Profile, Session, Event, ErrorBody)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _json(_ref("ErrorBody"), "Error") for c in codes}


def _page(name: str) -> dict[str, Any]:
    return _json(
        {
            "type": "object",
            "properties": {"items": {"type": "array", "items": _ref(name)}, "next": {"type": ["string", "null"]}},
        }
    )


def _op(
    summary: str, tag: str, responses: dict[str, Any], body: str | None = None, auth: bool = False
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"] = {**responses, **_errors(401)}
    return op


def _admin_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/sources": {
            "get": _op("List event sources", "admin", {"200": _page("EventSource")}, auth=True),
            "post": _op(
                "Create or replace an event source",
                "admin",
                {"201": _json(_ref("EventSource")), "200": _json(_ref("EventSource")), **_errors(422)},
                body="SourceInput",
                auth=True,
            ),
        },
        "/api/sources/{source_id}": {
            "get": _op("Get an event source", "admin", {"200": _json(_ref("EventSource")), **_errors(404)}, auth=True),
            "put": _op(
                "Create or replace an event source",
                "admin",
                {"200": _json(_ref("EventSource")), **_errors(422)},
                body="SourceInput",
                auth=True,
            ),
            "delete": _op("Delete an event source", "admin", {"200": _json({}), **_errors(404)}, auth=True),
        },
        "/api/profiles": {"get": _op("List profiles, newest first", "admin", {"200": _page("Profile")}, auth=True)},
    }
    for kind, model in (("profiles", "Profile"), ("sessions", "Session"), ("events", "Event")):
        paths[f"/api/{kind}/{{id}}"] = {
            "get": _op(f"Get a {model.lower()}", "admin", {"200": _json(_ref(model)), **_errors(404)}, auth=True),
            "delete": _op(f"Delete a {model.lower()}", "admin", {"200": _json({}), **_errors(404)}, auth=True),
        }
    paths["/api/profiles/{id}/sessions"] = {
        "get": _op("Sessions of a profile", "admin", {"200": _page("Session")}, auth=True)
    }
    paths["/api/profiles/{id}/events"] = {
        "get": _op("Events of a profile", "admin", {"200": _page("Event")}, auth=True)
    }
    paths["/api/sessions/{id}/events"] = {
        "get": _op("Events of a session", "admin", {"200": _page("Event")}, auth=True)
    }
    paths.update(_stats_paths())
    return paths


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or _STRING}


_STRING: dict[str, Any] = {"type": "string"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_EVENT_FILTER = [
    _query("source", "only events of this source id"),
    _query("profile", "only events of this profile id"),
    _query("type", "only events of this type"),
    _query("since", "inserted at or after (ISO 8601; no offset means UTC)", _TIME),
    _query("until", "inserted before (ISO 8601)", _TIME),
]


def _stats_paths() -> dict[str, Any]:
    """The event statistics (``admin/stats.py``)."""
    counts = {
        "type": "array",
        "items": {"type": "object", "properties": {"type": _STRING, "count": {"type": "integer"}}},
    }
    by_type = _op(
        "Event counts by type, most frequent first",
        "admin",
        {"200": _json({"type": "object", "properties": {"items": counts}}), **_errors(422)},
        auth=True,
    )
    by_type["parameters"] = [
        *_EVENT_FILTER,
        _query("limit", "how many types (1..1000, default 20)", {"type": "integer"}),
    ]
    bucket = {"type": "object", "properties": {"start": _TIME, "end": _TIME, "count": {"type": "integer"}}}
    body = {
        "type": "object",
        "properties": {
            "interval": _STRING,
            "since": _TIME,
            "until": _TIME,
            "items": {"type": "array", "items": bucket},
        },
    }
    histogram = _op(
        "Event counts per hour, day, week or month (UTC), empty intervals included",
        "admin",
        {"200": _json(body), **_errors(422)},
        auth=True,
    )
    interval = {"type": "string", "enum": ["hour", "day", "week", "month"], "default": "day"}
    histogram["parameters"] = [
        _query("interval", "bucket size; at most 1000 buckets between since and until", interval),
        *_EVENT_FILTER,
    ]
    status = {
        "type": "object",
        "properties": {
            "alias": _STRING,
            "current": {"type": ["string", "null"]},
            "count": {"type": "integer"},
            "up_to_date": {"type": "boolean"},
            "pending": {"type": ["string", "null"]},
            "old": {"type": "array", "items": _STRING},
        },
    }
    listing = {"type": "object", "properties": {"items": {"type": "array", "items": status}}}
    migrations = _op("Schema version of each index and event month", "admin", {"200": _json(listing)}, auth=True)
    return {
        "/api/events/count-by-type": {"get": by_type},
        "/api/events/histogram": {"get": histogram},
        "/api/migrations": {"get": migrations},
    }


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    _, components = msgspec.json.schema_components(_MODELS, ref_template="#/components/schemas/{name}")
    collect = _op(
        "Track one webhook event (query string or body as properties)",
        "collector",
        {"200": _json(_ref("TrackResponse")), **_errors(401, 413, 422)},
    )
    paths: dict[str, Any] = {
        "/track": {
            "post": _op(
                "Track a tracker payload",
                "collector",
                {"200": _json(_ref("TrackResponse")), **_errors(401, 406, 413, 422)},
                body="TrackerPayload",
            )
        },
        "/collect/{event_type}/{source_id}": {"get": collect, "post": collect},
        "/collect/{event_type}/{source_id}/{session_id}": {"get": collect, "post": collect},
        "/healthz": {"get": _op("Liveness", "health", {"200": _json({})})},
        "/readyz": {"get": _op("Readiness of each dependency", "health", {"200": _json({}), "503": _json({})})},
        "/metrics": {"get": _op("Prometheus metrics", "health", {"200": {"description": "text exposition"}})},
        **_admin_paths(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tracardi", "version": __version__},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


async def openapi(request: Request) -> Response:
    return json_response(build_openapi())


routes = [Route("/openapi.json", openapi, methods=["GET"])]
