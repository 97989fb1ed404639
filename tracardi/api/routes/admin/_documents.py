"""The five admin routes of a stored configuration document (profiling kinds, live segments): list, create, get,
replace, delete. The body is checked by decoding (unknown fields refused), then by the service (paths, conditions,
flows), and a 422 names the field either way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_body
from tracardi.api.errors import json_response, validation_error
from tracardi.api.routes._common import page_params, page_response
from tracardi.api.routes.admin._auth import Handler, admin
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.storage import Page

MAX_CONFIG_BYTES = 128 * 1024


class Documents(Protocol):
    """What the routes need of a service: one kind of document by id, checked on save."""

    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[Any]: ...
    async def find(self, doc_id: str) -> Any | None: ...
    async def get(self, doc_id: str) -> Any: ...
    async def save(self, doc: Any) -> Any: ...
    async def delete(self, doc_id: str) -> None: ...


async def decode_document(request: Request, doc_type: type[Any], path_id: str | None) -> Any:
    """The body as ``doc_type``; a Response (422) when it is not one. The path id fills a missing body id."""
    body = await read_body(request, MAX_CONFIG_BYTES)
    try:
        data = msgspec.json.decode(body)
        if not isinstance(data, dict):
            raise InvalidInput("The body must be a JSON object.", [FieldError(["body"], "must be an object")])
        if path_id is not None:
            if "id" in data and (not isinstance(data["id"], str) or data["id"].strip().lower() != path_id.lower()):
                raise InvalidInput("The body id differs from the path id.", [FieldError(["body", "id"], "must match")])
            data["id"] = path_id
        elif "id" in doc_type.__struct_fields__ and "id" not in data:
            raise InvalidInput("An id is required.", [FieldError(["body", "id"], "required")])
        return msgspec.convert(data, doc_type)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return validation_error(exc, "body")


def document_routes(path: str, doc_type: type[Any], documents: Callable[[Request], Documents]) -> list[Route]:
    """The routes at ``path`` and ``path/{doc_id}``; ``documents`` gives the request's service."""

    @admin
    async def listing(request: Request) -> Response:
        limit, after = page_params(request)
        page = await documents(request).list(limit=limit, after=after)
        return page_response(page)

    @admin
    async def create(request: Request) -> Response:
        doc = await decode_document(request, doc_type, None)
        if isinstance(doc, Response):
            return doc
        service = documents(request)
        existed = await service.find(doc.id)
        return json_response(await service.save(doc), 200 if existed else 201)

    @admin
    async def replace(request: Request) -> Response:
        doc = await decode_document(request, doc_type, request.path_params["doc_id"].strip().lower())
        if isinstance(doc, Response):
            return doc
        return json_response(await documents(request).save(doc))

    @admin
    async def get(request: Request) -> Response:
        return json_response(await documents(request).get(request.path_params["doc_id"]))

    @admin
    async def delete(request: Request) -> Response:
        await documents(request).delete(request.path_params["doc_id"])
        return json_response({"deleted": request.path_params["doc_id"]})

    handlers: list[tuple[str, Handler, str]] = [
        (path, listing, "GET"),
        (path, create, "POST"),
        (f"{path}/{{doc_id}}", get, "GET"),
        (f"{path}/{{doc_id}}", replace, "PUT"),
        (f"{path}/{{doc_id}}", delete, "DELETE"),
    ]
    return [Route(p, h, methods=[m]) for p, h, m in handlers]
