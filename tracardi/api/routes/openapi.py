"""``/openapi.json``: the collector and admin endpoints, with schemas generated from the msgspec Structs."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi import __version__
from tracardi.api.errors import json_response
from tracardi.api.routes.admin.profiling import KINDS
from tracardi.api.routes.admin.search import ProfileSearch
from tracardi.api.routes.admin.sources import SourceInput
from tracardi.domain import Event, EventSource, Profile, Session, TrackerPayload, TrackResponse
from tracardi.domain.flow import Flow, FlowTrace, Rule
from tracardi.domain.identity import MergeKeys
from tracardi.engine.workflow import ActionInfo, DryRunInput, DryRunResult


class ErrorBody(msgspec.Struct):
    """Every error: a message and the fields at fault."""

    detail: str
    errors: list[dict[str, Any]] = []


_MODELS = (
    TrackerPayload,
    TrackResponse,
    EventSource,
    SourceInput,
    Profile,
    Session,
    Event,
    ErrorBody,
    ProfileSearch,
    *(kind.index.doc_type for _, kind in KINDS),
    MergeKeys,
)
_WORKFLOW_MODELS = (Rule, Flow, FlowTrace, DryRunInput, DryRunResult, ActionInfo)


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
    paths["/api/profiles/search"] = {
        "post": _op(
            "Search profiles with a TQL condition, newest first (422 names the position and token of a syntax error)",
            "admin",
            {"200": _page("Profile"), **_errors(413, 422)},
            body="ProfileSearch",
            auth=True,
        )
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


def _workflow_paths() -> dict[str, Any]:
    """Rules, flows (validated on save: 422 names the node and field), dry runs, traces, the action catalogue."""
    saved = {"200": _json(_ref("Rule")), **_errors(413, 422)}
    flow_saved = {"200": _json(_ref("Flow")), **_errors(413, 422)}
    dry = _op("Run a flow on sample data; nothing is saved", "workflows", {"200": _json(_ref("DryRunResult")),
              **_errors(404, 413, 422)}, body="DryRunInput", auth=True)  # fmt: skip
    return {
        "/api/rules": {
            "get": _op("List rules", "workflows", {"200": _page("Rule")}, auth=True),
            "post": _op("Create or replace a rule", "workflows", saved, body="Rule", auth=True),
        },
        "/api/rules/{rule_id}": {
            "get": _op("Get a rule", "workflows", {"200": _json(_ref("Rule")), **_errors(404)}, auth=True),
            "put": _op("Create or replace a rule", "workflows", saved, body="Rule", auth=True),
            "delete": _op("Delete a rule", "workflows", {"200": _json({}), **_errors(404)}, auth=True),
        },
        "/api/flows": {
            "get": _op("List flows", "workflows", {"200": _page("Flow")}, auth=True),
            "post": _op("Create or replace a flow", "workflows", flow_saved, body="Flow", auth=True),
        },
        "/api/flows/{flow_id}": {
            "get": _op("Get a flow", "workflows", {"200": _json(_ref("Flow")), **_errors(404)}, auth=True),
            "put": _op("Create or replace a flow", "workflows", flow_saved, body="Flow", auth=True),
            "delete": _op("Delete a flow", "workflows", {"200": _json({}), **_errors(404)}, auth=True),
        },
        "/api/flows/dry-run": {"post": dry},
        "/api/flows/{flow_id}/dry-run": {"post": dry},
        "/api/events/{event_id}/flow-traces": {
            "get": _op("Flow traces of an event tracked with debug", "workflows", _page("FlowTrace"), auth=True)
        },
        "/api/actions": {"get": _op("Actions flows may use", "workflows", _page("ActionInfo"), auth=True)},
    }


def _profiling_paths() -> dict[str, Any]:
    """Segments, event-to-profile mappings, reshapings, event schemas (same five routes each) and merge keys."""
    paths: dict[str, Any] = {}
    for path, kind in KINDS:
        name, title = kind.index.doc_type.__name__, kind.title.lower()
        one = _json(_ref(name))
        paths[f"/api{path}"] = {
            "get": _op(f"List {title}s", "profiling", {"200": _page(name)}, auth=True),
            "post": _op(
                f"Create or replace a {title}", "profiling", {"201": one, "200": one, **_errors(413, 422)}, name, True
            ),
        }
        paths[f"/api{path}/{{id}}"] = {
            "get": _op(f"Get a {title}", "profiling", {"200": one, **_errors(404)}, auth=True),
            "put": _op(f"Create or replace a {title}", "profiling", {"200": one, **_errors(413, 422)}, name, True),
            "delete": _op(f"Delete a {title}", "profiling", {"200": _json({}), **_errors(404)}, auth=True),
        }
    keys = _json(_ref("MergeKeys"))
    paths["/api/merge-keys"] = {
        "get": _op("The merge keys", "profiling", {"200": keys}, auth=True),
        "put": _op("Set the merge keys", "profiling", {"200": keys, **_errors(422)}, "MergeKeys", True),
    }
    return paths


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    _, components = msgspec.json.schema_components(
        (*_MODELS, *_WORKFLOW_MODELS), ref_template="#/components/schemas/{name}"
    )
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
        **_workflow_paths(),
        **_profiling_paths(),
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
