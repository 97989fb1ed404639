"""Imports through the admin API: start one, list them, read one's progress and its bad rows.

File paths are relative to the import folder (``imports.folder``); the service refuses anything outside it.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_body
from tracardi.api.errors import json_response, validation_error
from tracardi.api.routes._common import page_params, page_response, services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.errors import FieldError, InvalidInput, NotFoundError
from tracardi.domain.imports import ImportSpec
from tracardi.engine import ImportService

MAX_SPEC_BYTES = 64 * 1024
_decode_spec = msgspec.json.Decoder(ImportSpec).decode


def _imports(request: Request) -> ImportService:
    imports = services(request).imports
    if imports is None:
        raise NotFoundError("Imports are not served by this host.")
    return imports


def _import_id(request: Request) -> str:
    import_id: str = request.path_params["id"]
    if len(import_id) > 200:
        raise InvalidInput("import id must have at most 200 characters.", [FieldError(["path", "id"], "length")])
    return import_id


@admin
async def start(request: Request) -> Response:
    """Check and record an import, queue it on ``import:worker``; 202 with the import's record."""
    imports = _imports(request)
    body = await read_body(request, MAX_SPEC_BYTES)
    try:
        spec = _decode_spec(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return validation_error(exc, "body")
    record = await imports.start(spec)
    return json_response(record, 202)


@admin
async def list_imports(request: Request) -> Response:
    limit, after = page_params(request)
    page = await _imports(request).list_imports(limit=limit, after=after)
    return page_response(page)


@admin
async def get_import(request: Request) -> Response:
    """Status, rows read, imported and failed, the checkpoint, and ``size`` (bytes or documents) for a percentage."""
    return json_response(await _imports(request).record(_import_id(request)))


@admin
async def import_errors(request: Request) -> Response:
    """The bad rows of an import in line order: ``line``, ``error`` and the start of the ``row``."""
    limit, after = page_params(request)
    page = await _imports(request).errors(_import_id(request), limit=limit, after=after)
    return page_response(page)


routes = [
    Route("/imports", start, methods=["POST"]),
    Route("/imports", list_imports, methods=["GET"]),
    Route("/imports/{id}", get_import, methods=["GET"]),
    Route("/imports/{id}/errors", import_errors, methods=["GET"]),
]
