"""The handlers of the work queues this version serves, each a thin call into the engine (or one HTTP POST)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from tracardi.domain.messages import (
    CopyEventPropsToTraits,
    CopyEventPropsToTraitsWhere,
    DelayedCall,
    MigrateUp,
    SendToWebhook,
    TraitsCopy,
)
from tracardi.engine import TaskService, copy_props_to_traits
from tracardi.log import get_logger
from tracardi.storage import DocumentStore, Job, VersionConflict
from tracardi.workers.runner import Abort, Retry

DelayedFn = Callable[[dict[str, Any]], Awaitable[None]]
log = get_logger("workers")


class PropsToTraits:
    """``event_props_to_event_traits:worker``: copy properties to traits on the events named, or matching."""

    def __init__(self, store: DocumentStore, tasks: TaskService) -> None:
        self._store = store
        self._tasks = tasks

    async def __call__(self, message: TraitsCopy, job: Job) -> None:
        match message:
            case CopyEventPropsToTraitsWhere():
                try:
                    await self._tasks.copy_props_where(job.id, message)
                except VersionConflict as exc:
                    raise Retry(f"an event changed meanwhile: {exc}", defer=0.1) from exc
            case CopyEventPropsToTraits(event_ids=ids, fields=fields):
                try:
                    changed = await copy_props_to_traits(self._store, ids, fields)
                except VersionConflict as exc:
                    raise Retry(f"an event changed meanwhile: {exc}", defer=0.1) from exc
                log.debug("event_traits_copied", job_id=job.id, events=len(ids), changed=changed)


class Webhooks:
    """``destinations:worker``: POST the data; 5xx, 429 and network errors are retried, other 4xx abort."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def __call__(self, message: SendToWebhook, job: Job) -> None:
        match message:
            case SendToWebhook(url=url, data=data, headers=headers, timeout=timeout):
                if not url.startswith(("http://", "https://")):
                    raise Abort(f"not an http(s) url: {url[:200]!r}")
                headers = {**headers, "x-tracardi-job-id": job.id}
                try:
                    response = await self._client.post(url, json=data, headers=headers, timeout=timeout)
                except httpx.HTTPError as exc:
                    raise Retry(f"{type(exc).__name__}: {exc}") from exc
                if response.status_code >= 500 or response.status_code == 429:
                    raise Retry(f"webhook answered {response.status_code}")
                if response.status_code >= 400:
                    raise Abort(f"webhook answered {response.status_code}: {response.text[:500]}")


class DelayedCalls:
    """``scheduler:delayed``: run the in-process callable registered under the message's name."""

    def __init__(self, registry: Mapping[str, DelayedFn]) -> None:
        self._registry = dict(registry)

    async def __call__(self, message: DelayedCall, job: Job) -> None:
        match message:
            case DelayedCall(name=name, args=args):
                fn = self._registry.get(name)
                if fn is None:
                    raise Abort(f"no delayed callable named {name!r} in this version")
                await fn(args)


class Migration:
    """``migration:worker``: ``migrate up`` with progress under the job id; a redelivered job resumes the copy."""

    def __init__(self, tasks: TaskService) -> None:
        self._tasks = tasks

    async def __call__(self, message: MigrateUp, job: Job) -> None:
        match message:
            case MigrateUp():
                progress = await self._tasks.migrate_up(job.id, message)
                log.info("migrated", job_id=job.id, indices_switched=progress.changed, documents=progress.total)
