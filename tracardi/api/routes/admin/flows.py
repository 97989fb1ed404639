"""Admin API of workflows: ``/api/rules``, ``/api/flows`` (validated on save), dry runs, traces and actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_json
from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_params, page_response, services
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


def _same_id(path_id: str, body_id: str) -> None:
    if body_id.strip() != path_id.strip():
        raise InvalidInput("The body id differs from the path id.", [FieldError(["body", "id"], "must match the path")])


class _Crud(Generic[T]):
    """The five routes of one stored kind (rules, flows): list, create, get, replace, delete."""

    def __init__(self, param: str, decoder: msgspec.json.Decoder[T], limit: int, store: Callable[[Request], Any]):
        self.param, self.decoder, self.limit, self.store = param, decoder, limit, store

    async def save(self, request: Request) -> Response:
        """Create or replace (PUT: the one named in the path; the body id must match it)."""
        doc = await read_json(request, self.decoder, self.limit)
        if self.param in request.path_params:
            _same_id(request.path_params[self.param], doc.id)  # type: ignore[attr-defined]
        return json_response(await self.store(request).save(doc, _now()))

    async def get(self, request: Request) -> Response:
        return json_response(await self.store(request).get(request.path_params[self.param]))

    async def delete(self, request: Request) -> Response:
        await self.store(request).delete(request.path_params[self.param])
        return json_response({"deleted": request.path_params[self.param]})

    async def listing(self, request: Request) -> Response:
        limit, after = page_params(request)
        page = await self.store(request).list(limit=limit, after=after)
        return page_response(page)

    def routes(self, path: str) -> list[Route]:
        one = f"{path}/{{{self.param}}}"
        return [
            Route(path, admin(self.listing), methods=["GET"]),
            Route(path, admin(self.save), methods=["POST"]),
            Route(one, admin(self.get), methods=["GET"]),
            Route(one, admin(self.save), methods=["PUT"]),
            Route(one, admin(self.delete), methods=["DELETE"]),
        ]


class _Rules:
    """FlowService's rule methods under the names _Crud calls."""

    def __init__(self, request: Request) -> None:
        flows = services(request).flows
        self.save, self.get, self.delete, self.list = (
            flows.save_rule,
            flows.get_rule,
            flows.delete_rule,
            flows.list_rules,
        )


class _Flows:
    """FlowService's flow methods under the names _Crud calls (a published flow must validate fully: 422)."""

    def __init__(self, request: Request) -> None:
        flows = services(request).flows
        self.save, self.get, self.delete, self.list = (
            flows.save_flow,
            flows.get_flow,
            flows.delete_flow,
            flows.list_flows,
        )


_rule_routes = _Crud("rule_id", _rules, MAX_RULE_BYTES, _Rules)
_flow_routes = _Crud("flow_id", _flows, MAX_FLOW_BYTES, _Flows)


@admin
async def run_dry(request: Request) -> Response:
    """Run a flow (inline ``flow``, or the stored one in the path) on sample data; nothing is saved."""
    sample = await read_json(request, _dry, MAX_FLOW_BYTES)
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
    *_rule_routes.routes("/rules"),
    Route("/flows/dry-run", run_dry, methods=["POST"]),  # before /flows/{flow_id}, which would take it
    *_flow_routes.routes("/flows"),
    Route("/flows/{flow_id}/dry-run", run_dry, methods=["POST"]),
    Route("/events/{event_id}/flow-traces", traces, methods=["GET"]),
    Route("/actions", actions, methods=["GET"]),
]
