"""Helpers shared by routes: services from the lifespan state, request info, paging parameters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tracardi.api.services import STATE_KEY, ApiServices
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.engine import RequestInfo

_HIDDEN_HEADERS = (b"authorization", b"cookie")


def services(request: Request) -> ApiServices:
    svc: ApiServices = getattr(request.state, STATE_KEY)
    return svc


def request_info(request: Request, svc: ApiServices) -> RequestInfo:
    """Client ip, headers without credentials, and the user agent of an HTTP call."""
    headers: dict[str, str] = {}
    for key, value in request.scope["headers"]:
        if key not in _HIDDEN_HEADERS:
            headers[key.decode("latin-1")] = value.decode("latin-1")
    ip: str | None = None
    forwarded = svc.options.forwarded_ip_header
    if forwarded and headers.get(forwarded.lower()):
        ip = headers[forwarded.lower()].split(",")[0].strip()
    elif request.client:
        ip = request.client.host
    return RequestInfo(ip=ip, headers=headers, user_agent=headers.get("user-agent", ""))


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


def page_body(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next": next_cursor}
