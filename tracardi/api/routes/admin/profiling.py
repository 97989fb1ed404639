"""Admin CRUD of profiling configuration: segments, event-to-profile mappings, reshapings, event schemas (the five
document routes each), and merge keys."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import json_response
from tracardi.api.routes._common import services
from tracardi.api.routes.admin._auth import admin
from tracardi.api.routes.admin._documents import decode_document, document_routes
from tracardi.domain.identity import MergeKeys
from tracardi.engine.profiling import MAPPING, RESHAPING, SCHEMA, SEGMENT, Kind, ProfilingService
from tracardi.storage import Page


class _KindDocuments:
    """The profiling service's methods for one kind, as the document routes call them."""

    def __init__(self, profiling: ProfilingService, kind: Kind[Any]) -> None:
        self._profiling = profiling
        self._kind = kind

    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[Any]:
        return await self._profiling.list(self._kind, limit=limit, after=after)

    async def find(self, doc_id: str) -> Any | None:
        return await self._profiling.find(self._kind, doc_id)

    async def get(self, doc_id: str) -> Any:
        return await self._profiling.get(self._kind, doc_id)

    async def save(self, doc: Any) -> Any:
        return await self._profiling.save(self._kind, doc)

    async def delete(self, doc_id: str) -> None:
        await self._profiling.delete(self._kind, doc_id)


def _routes(path: str, kind: Kind[Any]) -> list[Route]:
    return document_routes(path, kind.index.doc_type, lambda request: _KindDocuments(services(request).profiling, kind))


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
