"""Composition root, part two: run the selected roles in one event loop and shut down gracefully.

One place owns SIGTERM/SIGINT: on a signal the API stops accepting, in-flight requests finish (bounded by
``runtime.drain_timeout``), the other roles stop taking work, then buffered writes are flushed and connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator, Generator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from tracardi import log as logging_setup
from tracardi._http import HttpToolsCoalescing
from tracardi.api import STATE_KEY, create_app
from tracardi.bridges import run_bridges
from tracardi.jobs import run_jobs
from tracardi.services import Services, open_services
from tracardi.settings import Settings
from tracardi.workers import run_workers

ROLES = ("api", "jobs", "workers", "bridges")
log = logging_setup.get_logger("runtime")


def parse_roles(text: str) -> tuple[str, ...]:
    """``all`` or a comma list of roles; raises ValueError naming an unknown one."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("no role given; use all or a comma list of " + ", ".join(ROLES))
    if "all" in names:
        return ROLES
    unknown = [n for n in names if n not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; roles are all, " + ", ".join(ROLES))
    return tuple(r for r in ROLES if r in names)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the runtime owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def build_app(services: Services) -> ASGIApp:
    """The HTTP app over already-open services (its lifespan only hands them to the routes)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {STATE_KEY: services.api()}

    return create_app(lifespan, services.metrics)


def make_server(services: Services) -> _Server:
    """A uvicorn server for the API role over these services (signals stay with the runtime)."""
    opts = services.settings.api
    config = uvicorn.Config(
        build_app(services),
        host=opts.host,
        port=opts.port,
        http=HttpToolsCoalescing,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(services.settings.runtime.drain_timeout) or 1,
        server_header=False,
        proxy_headers=False,  # api.forwarded_ip_header decides which proxy header, if any, names the client
    )
    return _Server(config)


async def _serve_api(server: _Server, stop: asyncio.Event) -> None:
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        serving.result()
        if not server.started:
            raise RuntimeError(f"the API could not start on {server.config.host}:{server.config.port}")
        return
    server.should_exit = True
    await serving


def settle_heap(threshold: int) -> None:
    """Freeze what start-up built out of the garbage collector's sight, and collect the young less often.

    Every collection of the oldest generation walks every live container object; with modules, compiled
    user-agent rules and caches in the heap, that cost about a sixth of the /track time under load. The
    request path frees nearly everything by reference counting, so a larger young threshold lets little pile up.
    Only the process the runtime owns does this, never an application that embeds Tracardi.
    """
    gc.collect()
    gc.freeze()
    if threshold > 0:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(threshold, middle, old)


async def run(settings: Settings, roles: tuple[str, ...]) -> None:
    """Run the roles until SIGTERM/SIGINT, then drain and close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_services(settings) as services:
        log.info(
            "started",
            roles=list(roles),
            port=settings.api.port if "api" in roles else None,
            storage=settings.storage.backend,
            data=settings.storage.path,
        )
        settle_heap(settings.runtime.gc_threshold)
        try:
            async with asyncio.TaskGroup() as group:
                if "api" in roles:
                    group.create_task(_serve_api(make_server(services), stop))
                if "workers" in roles:
                    group.create_task(run_workers(services.workers(), settings.workers, stop))
                if "jobs" in roles:
                    group.create_task(
                        run_jobs(services.jobs, settings.jobs, stop, drain_timeout=settings.runtime.drain_timeout)
                    )
                if "bridges" in roles:
                    group.create_task(run_bridges(services.bridges(), settings.bridges, stop))
        finally:
            stop.set()
            log.info("stopping", detail="flushing writes and closing storage")
    log.info("stopped")
