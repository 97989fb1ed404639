"""Helpers shared by routes: services from the lifespan state, request info, paging parameters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from tracardi.api.errors import BodyTooLarge, json_response
from tracardi.api.services import STATE_KEY, ApiServices
from tracardi.domain.errors import EventRejected, FieldError, InvalidInput, SourceRejected
from tracardi.engine import RequestInfo, TrackResult
from tracardi.storage import Page

_HIDDEN_HEADERS = ("authorization", "cookie")


def rejection_reason(exc: Exception) -> str:
    """The ``reason`` label of a rejected tracking request in /metrics."""
    if isinstance(exc, BodyTooLarge):
        return "too_large"
    if isinstance(exc, SourceRejected):
        return "source"
    if isinstance(exc, InvalidInput):
        return "invalid_payload"
    if isinstance(exc, EventRejected):
        return "event_schema"
    return type(exc).__name__


def track_reply(svc: ApiServices, result: TrackResult) -> tuple[int, bytes]:
    """Status and body of a tracking answer: ``null`` for no events, 226 when the response carries errors."""
    if result.response is None:
        return 200, b"null"
    return (226 if result.response.errors else 200), svc.encoder.encode(result.response)


def services(request: Request) -> ApiServices:
    svc: ApiServices = getattr(request.state, STATE_KEY)
    return svc


def request_info(request: Request, svc: ApiServices) -> RequestInfo:
    """Client ip, headers without credentials, and the user agent of an HTTP call."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
    return request_info_from_scope(request.scope, headers, svc)


def request_info_from_scope(scope: Scope, headers: dict[str, str], svc: ApiServices) -> RequestInfo:
    """The same from an ASGI scope and its already-decoded headers."""
    kept = {k: v for k, v in headers.items() if k not in _HIDDEN_HEADERS}
    ip: str | None = None
    forwarded = svc.options.forwarded_ip_header.lower()
    if forwarded and kept.get(forwarded):
        ip = kept[forwarded].split(",")[0].strip()
    elif scope.get("client"):
        ip = scope["client"][0]
    return RequestInfo(ip=ip, headers=kept, user_agent=kept.get("user-agent", ""))


def page_params(request: Request, *, default: int = 20, maximum: int = 1000) -> tuple[int, str | None]:
    """``limit`` and ``after`` query parameters, checked."""
    raw = request.query_params.get("limit")
    limit = default
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= maximum:
            raise InvalidInput(
                f"limit must be an integer from 1 to {maximum}.",
                [FieldError(["query", "limit"], f"integer from 1 to {maximum}")],
            )
        limit = int(raw)
    return limit, request.query_params.get("after") or None


def page_response(page: Page[Any]) -> Response:
    """A page of documents as the admin API lists them: ``{"items": [...], "next": cursor or null}``."""
    return json_response({"items": [v.doc for v in page.items], "next": page.next})
