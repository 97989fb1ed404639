"""Bearer-token check of the admin API."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from tracardi.api.errors import error_response
from tracardi.api.routes._common import services

Handler = Callable[[Request], Awaitable[Response]]


def admin(handler: Handler) -> Handler:
    """Wrap an admin route: 401 unless ``Authorization: Bearer <admin token>``; 403 when the admin API is off."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        svc = services(request)
        if not svc.options.admin:
            return error_response(403, "The admin API is switched off on this host.")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _unauthorized("Not authenticated: send `Authorization: Bearer <admin token>`.")
        if not hmac.compare_digest(token.strip().encode(), svc.admin_token.encode()):
            return _unauthorized("Invalid authentication credentials.")
        return await handler(request)

    return wrapper


def _unauthorized(detail: str) -> Response:
    response = error_response(401, detail)
    response.headers["www-authenticate"] = "Bearer"
    return response
