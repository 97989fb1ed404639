"""The admin API under /api: bearer-token auth, event sources, and stored records."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from tracardi.api.routes.admin import jobs, queues, records, sources, stats, tasks


def admin_mount() -> BaseRoute:
    return Mount(
        "/api", routes=[*sources.routes, *stats.routes, *records.routes, *queues.routes, *jobs.routes, *tasks.routes]
    )


__all__ = ["admin_mount"]
