"""``POST /track`` served as a plain ASGI handler in front of the Starlette app.

/track is the one route on the hot path of every page view; the generic Starlette stack (Request objects, two
exception layers, the CORS send wrapper, Response objects) cost about a third of its time. This handler does the
same work (body limit, decode, tracker, Tracardi's response, one error shape, CORS echo) directly on ASGI messages.
Everything else goes to the Starlette app through RequestContext; /track uses RequestContext's steps directly
(request id, timing, metrics) and writes their headers with its own, without a wrapper around ``send``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tracardi.api._body import receive_body
from tracardi.api.errors import BodyTooLarge, map_exception, validation_error
from tracardi.api.middleware import RequestContext
from tracardi.api.routes._common import rejection_reason, request_info_from_scope, track_reply
from tracardi.api.services import STATE_KEY, ApiServices
from tracardi.domain.errors import DomainError

TRACK_PATH = "/track"
_JSON = (b"content-type", b"application/json")


class _Route:
    """What RequestContext reads from ``scope["route"]`` to label the latency histogram."""

    path = TRACK_PATH


_ROUTE = _Route()


def _relative_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class FastTrack:
    """ASGI app: POST /track handled here, any other request passed to ``context`` (which wraps the app)."""

    def __init__(self, context: RequestContext) -> None:
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or _relative_path(scope) != TRACK_PATH:
            await self.context(scope, receive, send)
            return
        status, headers, body = await self.respond(scope, receive)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def respond(self, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Serve a POST /track: its status, headers and body (also called by the server's HTTP protocol, which
        writes them itself; see tracardi._http)."""
        scope["route"] = _ROUTE
        context = self.context
        start, request_id = context.begin(scope)
        status = 500
        try:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            status, body = await self._handle(scope, receive, headers)
            out = [_JSON, (b"content-length", b"%d" % len(body))]
            origin = headers.get("origin")
            if origin:
                out += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-credentials", b"true"),
                    (b"access-control-expose-headers", b"x-process-time, x-request-id"),
                    (b"vary", b"Origin"),
                ]
            out += context.response_headers(start, request_id)
            return status, out, body
        finally:
            context.end(scope, start, status)

    def body_limit(self, state: dict[str, Any]) -> int:
        """The configured largest /track body, from the app's lifespan state."""
        svc: ApiServices = state[STATE_KEY]
        return svc.options.max_body_bytes

    async def _handle(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> tuple[int, bytes]:
        svc: ApiServices = scope["state"][STATE_KEY]
        try:
            return await self._track(svc, scope, receive, headers)
        except (DomainError, BodyTooLarge) as exc:
            svc.metrics.events_rejected.labels(rejection_reason(exc)).inc()
            return _unpack(map_exception(exc))
        except Exception as exc:  # noqa: BLE001 - the request boundary: logged as a 500 by map_exception
            return _unpack(map_exception(exc))

    async def _track(
        self, svc: ApiServices, scope: Scope, receive: Receive, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        raw = await receive_body(receive, headers.get("content-length"), svc.options.max_body_bytes)
        try:
            payload = svc.payload_decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            svc.metrics.events_rejected.labels("invalid_body").inc()
            return _unpack(validation_error(exc, "body"))
        query: bytes = scope.get("query_string", b"")
        profile_less = b"profile_less=true" in query.lower()
        info = request_info_from_scope(scope, headers, svc)
        result = await svc.tracker.track(payload, info, endpoint="rest", profile_less=profile_less, raw=raw)
        return track_reply(svc, result)


def _unpack(response: Response) -> tuple[int, bytes]:
    return response.status_code, bytes(response.body)
