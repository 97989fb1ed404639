"""Build the Starlette application: collector, health, metrics, admin API, OpenAPI, CORS and error mapping."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from tracardi.api import errors
from tracardi.api.fast_track import FastTrack
from tracardi.api.middleware import RequestContext
from tracardi.api.routes import collector, health, openapi
from tracardi.api.routes.admin import admin_mount
from tracardi.domain.errors import DomainError
from tracardi.metrics import Metrics
from tracardi.storage import StorageError

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[dict[str, Any]]]


def create_app(lifespan: Lifespan, metrics: Metrics) -> ASGIApp:
    """The ASGI app; ``lifespan`` must yield ``{"tracardi": ApiServices}`` (see tracardi.embed for one that does).

    CORS echoes any Origin with credentials allowed, as Tracardi does, so the browser tracker (fetch with an
    ``x-timestamp`` header, or sendBeacon) passes its preflight from any site.
    """
    routes = [*collector.routes, *health.routes, *openapi.routes, admin_mount()]
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origin_regex=".*",
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-process-time", "x-request-id"],
            max_age=600,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            DomainError: errors.handle,
            StorageError: errors.handle,
            errors.BodyTooLarge: errors.handle,
            HTTPException: errors.handle,
            Exception: errors.handle,
        },
        lifespan=lifespan,
    )
    return FastTrack(RequestContext(app, metrics))


__all__ = ["Lifespan", "create_app"]
