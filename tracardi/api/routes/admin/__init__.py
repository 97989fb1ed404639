"""The admin API under /api: bearer-token auth, sources, records, search, workflows, profiling, background work."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from tracardi.api.routes.admin import (
    flows,
    imports,
    jobs,
    live_segments,
    profiling,
    queues,
    records,
    search,
    sources,
    stats,
    tasks,
)


def admin_mount() -> BaseRoute:
    return Mount(
        "/api",
        routes=[
            *sources.routes,
            *stats.routes,
            *records.routes,
            *search.routes,
            *queues.routes,
            *jobs.routes,
            *tasks.routes,
            *flows.routes,
            *profiling.routes,
            *imports.routes,
            *live_segments.routes,
        ],
    )


__all__ = ["admin_mount"]
