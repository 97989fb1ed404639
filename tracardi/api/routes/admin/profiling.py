"""Admin CRUD of profiling configuration: segments, event-to-profile mappings, reshapings, event schemas, merge keys.

Every kind has the same five routes as event sources; the body is checked by decoding (unknown fields refused) and
then by the engine (paths, conditions, schemas), and a 422 names the field either way.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_body
from tracardi.api.errors import json_response, validation_error
from tracardi.api.routes._common import page_body, page_params, services
from tracardi.api.routes.admin._auth import Handler, admin
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.identity import MergeKeys
from tracardi.engine.profiling import MAPPING, RESHAPING, SCHEMA, SEGMENT, Kind

MAX_CONFIG_BYTES = 128 * 1024


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


def _routes(path: str, kind: Kind[Any]) -> list[Route]:
    doc_type = kind.index.doc_type

    @admin
    async def listing(request: Request) -> Response:
        limit, after = page_params(request)
        page = await services(request).profiling.list(kind, limit=limit, after=after)
        return json_response(page_body([v.doc for v in page.items], page.next))

    @admin
    async def create(request: Request) -> Response:
        doc = await decode_document(request, doc_type, None)
        if isinstance(doc, Response):
            return doc
        profiling = services(request).profiling
        existed = await profiling.find(kind, doc.id)
        return json_response(await profiling.save(kind, doc), 200 if existed else 201)

    @admin
    async def replace(request: Request) -> Response:
        doc = await decode_document(request, doc_type, request.path_params["doc_id"].strip().lower())
        if isinstance(doc, Response):
            return doc
        return json_response(await services(request).profiling.save(kind, doc))

    @admin
    async def get(request: Request) -> Response:
        return json_response(await services(request).profiling.get(kind, request.path_params["doc_id"]))

    @admin
    async def delete(request: Request) -> Response:
        await services(request).profiling.delete(kind, request.path_params["doc_id"])
        return json_response({"deleted": request.path_params["doc_id"]})

    handlers: list[tuple[str, Handler, str]] = [
        (path, listing, "GET"),
        (path, create, "POST"),
        (f"{path}/{{doc_id}}", get, "GET"),
        (f"{path}/{{doc_id}}", replace, "PUT"),
        (f"{path}/{{doc_id}}", delete, "DELETE"),
    ]
    return [Route(p, h, methods=[m]) for p, h, m in handlers]


@admin
async def get_merge_keys(request: Request) -> Response:
    return json_response(await services(request).profiling.merge_keys())


@admin
async def put_merge_keys(request: Request) -> Response:
    keys = await decode_document(request, MergeKeys, None)
    if isinstance(keys, Response):
        return keys
    return json_response(await services(request).profiling.set_merge_keys(keys))


# the URL path of each kind of document
KINDS: tuple[tuple[str, Kind[Any]], ...] = (
    ("/segments", SEGMENT),
    ("/event-to-profile", MAPPING),
    ("/event-reshaping", RESHAPING),
    ("/event-schemas", SCHEMA),
)

routes = [
    *(route for path, kind in KINDS for route in _routes(path, kind)),
    Route("/merge-keys", get_merge_keys, methods=["GET"]),
    Route("/merge-keys", put_merge_keys, methods=["PUT"]),
]
