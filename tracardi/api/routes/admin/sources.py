"""Admin CRUD of event sources: ``/api/sources``."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_json
from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_params, page_response, services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.source import EventSource


class SourceInput(EventSource, kw_only=True, forbid_unknown_fields=True):
    """An event source as the admin API takes it: Tracardi's fields, an optional id, ``type`` maybe a bare string."""

    id: str | None = None  # type: ignore[assignment]  # the path or a generated id fills it
    type: str | list[str] = "rest"  # type: ignore[assignment]  # normalised to a list by to_source

    def to_source(self, source_id: str) -> EventSource:
        fields = msgspec.structs.asdict(self)
        fields["id"] = source_id
        fields["type"] = [self.type] if isinstance(self.type, str) else self.type
        return EventSource(**fields)


_decoder = msgspec.json.Decoder(SourceInput)
MAX_SOURCE_BYTES = 64 * 1024


@admin
async def create(request: Request) -> Response:
    """Create or replace a source given in the body (its ``id`` is required)."""
    data = await read_json(request, _decoder, MAX_SOURCE_BYTES)
    if not data.id:
        raise InvalidInput("Event source id is required.", [FieldError(["body", "id"], "required")])
    source = data.to_source(data.id)
    services(request).check_source(source)
    existed = await services(request).sources.find(data.id.strip().lower())
    saved = await services(request).sources.save(source)
    return json_response(saved, 200 if existed else 201)


@admin
async def replace(request: Request) -> Response:
    """Create or replace the source named in the path."""
    data = await read_json(request, _decoder, MAX_SOURCE_BYTES)
    source_id = request.path_params["source_id"]
    if data.id and data.id.strip().lower() != source_id.strip().lower():
        raise InvalidInput("The body id differs from the path id.", [FieldError(["body", "id"], "must match the path")])
    source = data.to_source(source_id)
    services(request).check_source(source)
    saved = await services(request).sources.save(source)
    return json_response(saved)


@admin
async def get(request: Request) -> Response:
    return json_response(await services(request).sources.get(request.path_params["source_id"]))


@admin
async def delete(request: Request) -> Response:
    await services(request).sources.delete(request.path_params["source_id"])
    return json_response({"deleted": request.path_params["source_id"]})


@admin
async def listing(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).sources.list(limit=limit, after=after)
    return page_response(page)


routes = [
    Route("/sources", listing, methods=["GET"]),
    Route("/sources", create, methods=["POST"]),
    Route("/sources/{source_id}", get, methods=["GET"]),
    Route("/sources/{source_id}", replace, methods=["PUT"]),
    Route("/sources/{source_id}", delete, methods=["DELETE"]),
]
