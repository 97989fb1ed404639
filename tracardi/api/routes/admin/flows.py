"""Admin API of workflows: ``/api/rules``, ``/api/flows`` (validated on save), dry runs, traces and actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_body
from tracardi.api.errors import json_response, validation_error
from tracardi.api.routes._common import page_body, page_params, services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.flow import Flow, Rule
from tracardi.engine.workflow import DryRunInput, dry_run

T = TypeVar("T")
MAX_RULE_BYTES = 64 * 1024
MAX_FLOW_BYTES = 1024 * 1024
_rules = msgspec.json.Decoder(Rule)
_flows = msgspec.json.Decoder(Flow)
_dry = msgspec.json.Decoder(DryRunInput)


def _now() -> datetime:
    return datetime.now(UTC)


async def _decode(request: Request, decoder: msgspec.json.Decoder[T], limit: int) -> T | Response:
    body = await read_body(request, limit)
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return validation_error(exc, "body")
    except RecursionError:  # msgspec gives up on absurd nesting before our depth checks can
        raise InvalidInput("The body is nested too deeply.", [FieldError(["body"], "nested too deeply")]) from None


def _same_id(path_id: str, body_id: str) -> None:
    if body_id.strip() != path_id.strip():
        raise InvalidInput("The body id differs from the path id.", [FieldError(["body", "id"], "must match the path")])


@admin
async def save_rule(request: Request) -> Response:
    """Create or replace a rule (PUT: the one named in the path)."""
    rule = await _decode(request, _rules, MAX_RULE_BYTES)
    if isinstance(rule, Response):
        return rule
    if "rule_id" in request.path_params:
        _same_id(request.path_params["rule_id"], rule.id)
    return json_response(await services(request).flows.save_rule(rule, _now()))


@admin
async def get_rule(request: Request) -> Response:
    return json_response(await services(request).flows.get_rule(request.path_params["rule_id"]))


@admin
async def delete_rule(request: Request) -> Response:
    await services(request).flows.delete_rule(request.path_params["rule_id"])
    return json_response({"deleted": request.path_params["rule_id"]})


@admin
async def list_rules(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).flows.list_rules(limit=limit, after=after)
    return json_response(page_body([v.doc for v in page.items], page.next))


@admin
async def save_flow(request: Request) -> Response:
    """Create or replace a flow; a published one (``draft: false``) must validate fully (422 naming the node)."""
    flow = await _decode(request, _flows, MAX_FLOW_BYTES)
    if isinstance(flow, Response):
        return flow
    if "flow_id" in request.path_params:
        _same_id(request.path_params["flow_id"], flow.id)
    return json_response(await services(request).flows.save_flow(flow, _now()))


@admin
async def get_flow(request: Request) -> Response:
    return json_response(await services(request).flows.get_flow(request.path_params["flow_id"]))


@admin
async def delete_flow(request: Request) -> Response:
    await services(request).flows.delete_flow(request.path_params["flow_id"])
    return json_response({"deleted": request.path_params["flow_id"]})


@admin
async def list_flows(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).flows.list_flows(limit=limit, after=after)
    return json_response(page_body([v.doc for v in page.items], page.next))


@admin
async def run_dry(request: Request) -> Response:
    """Run a flow (inline ``flow``, or the stored one in the path) on sample data; nothing is saved."""
    sample = await _decode(request, _dry, MAX_FLOW_BYTES)
    if isinstance(sample, Response):
        return sample
    svc = services(request)
    flow_id = request.path_params.get("flow_id")
    flow: Flow | None = await svc.flows.get_flow(flow_id) if flow_id else sample.flow
    if flow is None:
        raise InvalidInput("Give the flow to run.", [FieldError(["body", "flow"], "required")])
    return json_response(await dry_run(svc.workflows, flow, sample, _now()))


@admin
async def traces(request: Request) -> Response:
    """The flow traces stored for an event tracked with ``debug``."""
    found: list[Any] = await services(request).flows.traces(request.path_params["event_id"])
    return json_response({"items": found})


@admin
async def actions(request: Request) -> Response:
    return json_response({"items": services(request).flows.registry.describe()})


routes = [
    Route("/rules", list_rules, methods=["GET"]),
    Route("/rules", save_rule, methods=["POST"]),
    Route("/rules/{rule_id}", get_rule, methods=["GET"]),
    Route("/rules/{rule_id}", save_rule, methods=["PUT"]),
    Route("/rules/{rule_id}", delete_rule, methods=["DELETE"]),
    Route("/flows", list_flows, methods=["GET"]),
    Route("/flows", save_flow, methods=["POST"]),
    Route("/flows/dry-run", run_dry, methods=["POST"]),
    Route("/flows/{flow_id}", get_flow, methods=["GET"]),
    Route("/flows/{flow_id}", save_flow, methods=["PUT"]),
    Route("/flows/{flow_id}", delete_flow, methods=["DELETE"]),
    Route("/flows/{flow_id}/dry-run", run_dry, methods=["POST"]),
    Route("/events/{event_id}/flow-traces", traces, methods=["GET"]),
    Route("/actions", actions, methods=["GET"]),
]
