"""Admin CRUD of live segments (``/api/live-segments``): checked on save, 422 naming the field (a bad TQL
condition, an unknown flow), like the other configuration documents."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_body, page_params, services
from tracardi.api.routes.admin._auth import admin
from tracardi.api.routes.admin.profiling import decode_document
from tracardi.domain.live_segment import LiveSegment


@admin
async def listing(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).live_segments.list_segments(limit=limit, after=after)
    return json_response(page_body([v.doc for v in page.items], page.next))


@admin
async def create(request: Request) -> Response:
    doc = await decode_document(request, LiveSegment, None)
    if isinstance(doc, Response):
        return doc
    live = services(request).live_segments
    existed = await live.find(doc.id)
    return json_response(await live.save(doc), 200 if existed else 201)


@admin
async def replace(request: Request) -> Response:
    doc = await decode_document(request, LiveSegment, request.path_params["doc_id"].strip().lower())
    if isinstance(doc, Response):
        return doc
    return json_response(await services(request).live_segments.save(doc))


@admin
async def get(request: Request) -> Response:
    return json_response(await services(request).live_segments.get(request.path_params["doc_id"]))


@admin
async def delete(request: Request) -> Response:
    await services(request).live_segments.delete(request.path_params["doc_id"])
    return json_response({"deleted": request.path_params["doc_id"]})


routes = [
    Route("/live-segments", listing, methods=["GET"]),
    Route("/live-segments", create, methods=["POST"]),
    Route("/live-segments/{doc_id}", get, methods=["GET"]),
    Route("/live-segments/{doc_id}", replace, methods=["PUT"]),
    Route("/live-segments/{doc_id}", delete, methods=["DELETE"]),
]
