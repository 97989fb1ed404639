"""Pure ASGI middleware: request id, structlog context, latency metrics, X-Process-Time."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracardi.engine.ids import IdFactory
from tracardi.log import bind, clear, get_logger
from tracardi.metrics import Metrics

log = get_logger("api")


class RequestContext:
    """Binds a request id for logs, times the request and records it in the latency histogram."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._new_id = IdFactory()
        self._latency: dict[tuple[str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _header(scope, b"x-request-id") or self._new_id()
        clear()
        bind(request_id=request_id)
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-process-time", f"{time.perf_counter() - start:.6f}".encode()))
                headers.append((b"x-request-id", request_id.encode()))
            await send(message)

        self.metrics.inflight.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.inflight.dec()
            elapsed = time.perf_counter() - start
            self._histogram(scope, status).observe(elapsed)
            # One line per request only where it tells something at the default level: a console line costs
            # about 20 us, 7 % of a /track. Every request is logged at level "debug".
            emit = log.debug if status < 400 else log.info
            emit("request", method=scope["method"], path=scope["path"], status=status, ms=round(elapsed * 1000, 2))

    def _histogram(self, scope: Scope, status: int) -> Any:
        template = getattr(scope.get("route"), "path", "unmatched")
        key = (template, status // 100)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = self.metrics.request_latency.labels(template, f"{status // 100}xx")
        return child


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))[:128]
    return None
