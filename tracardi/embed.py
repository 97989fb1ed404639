"""Hosting Tracardi inside another Python process (a SaaS back end, a test).

Two ways in::

    cdp = Tracardi(load_settings(storage={"path": "/var/lib/myapp/cdp"}))

    # 1. mount the HTTP app under a prefix; the host runs our lifespan
    host = Starlette(routes=[Mount("/cdp", app=cdp.app)], lifespan=cdp.lifespan)

    # 2. call the tracker directly, same result as POST /track
    async with cdp:
        result = await cdp.track({"source": {"id": "demo"}, "events": [{"type": "page-view"}]})
        result.response.profile.id
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.types import ASGIApp

from tracardi.api import STATE_KEY, create_app
from tracardi.domain.payload import TrackerPayload
from tracardi.engine import RequestInfo, TrackResult
from tracardi.metrics import Metrics
from tracardi.services import Services, open_services
from tracardi.settings import Settings, load_settings


class Tracardi:
    """The CDP as a library: open it (``async with`` or a host's lifespan), then track or serve HTTP."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self._services: Services | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._metrics = Metrics()
        self.app: ASGIApp = create_app(self._app_lifespan, self._metrics)

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("Tracardi is not open: use `async with Tracardi(...)` or the host's lifespan")
        return self._services

    async def __aenter__(self) -> Tracardi:
        if self._services is None:
            self._stack = contextlib.AsyncExitStack()
            self._services = await self._stack.enter_async_context(open_services(self.settings, self._metrics))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack, self._services = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @contextlib.asynccontextmanager
    async def _app_lifespan(self, _: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with self:
            yield {STATE_KEY: self.services.api()}

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[dict[str, Any]]:
        """A lifespan for the host application: opens Tracardi and shares its state with the mounted app."""
        async with self._app_lifespan(app) as state:
            yield state

    async def track(
        self,
        payload: TrackerPayload | dict[str, Any],
        request: RequestInfo | None = None,
        *,
        profile_less: bool = False,
    ) -> TrackResult:
        """Track a payload as ``POST /track`` would (raises InvalidInput/SourceRejected where HTTP answers 4xx)."""
        if isinstance(payload, dict):
            payload = msgspec.convert(payload, TrackerPayload)
        return await self.services.tracker.track(payload, request, profile_less=profile_less)


__all__ = ["Tracardi", "load_settings"]
