"""``POST /api/profiles/search``: profiles matching a TQL condition, newest first, paged like the lists."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api._body import read_json
from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_response, services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.tql import MAX_LENGTH, TqlNotQueryable, TqlSyntaxError

MAX_SEARCH_BYTES = 128 * 1024  # a condition of MAX_LENGTH characters, each escaped as \uXXXX, fits


class ProfileSearch(msgspec.Struct, forbid_unknown_fields=True):
    """A profile search: a TQL condition over profile fields (``stats.visits > 3``, ``profile@segments ...``),
    the page size, and the ``next`` cursor of the previous page."""

    where: Annotated[str, msgspec.Meta(max_length=MAX_LENGTH)]
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    after: str | None = None


_decoder = msgspec.json.Decoder(ProfileSearch)


@admin
async def search_profiles(request: Request) -> Response:
    search = await read_json(request, _decoder, MAX_SEARCH_BYTES)
    try:
        page = await services(request).records.search_profiles(search.where, limit=search.limit, after=search.after)
    except TqlSyntaxError as exc:
        return _where_error(f"Invalid condition: {exc}", {"position": exc.position, "token": exc.token})
    except TqlNotQueryable as exc:
        return _where_error(f"The condition cannot be searched: {exc}", {})
    return page_response(page)


def _where_error(detail: str, where: dict[str, Any]) -> Response:
    """422 in the usual error shape; a syntax error's item also carries the ``position`` and ``token``."""
    return json_response({"detail": detail, "errors": [{"loc": ["body", "where"], "msg": detail, **where}]}, 422)


routes = [Route("/profiles/search", search_profiles, methods=["POST"])]
