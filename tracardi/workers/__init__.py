"""The ``workers`` role: one consumer (a pool of ``concurrency`` coroutines) per work queue."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from tracardi.domain.messages import (
    DELAYED,
    DESTINATIONS,
    EVENT_PROPS_TO_TRAITS,
    EVENT_TO_PROFILE,
    IMPORT,
    MIGRATION,
    SEGMENTATION_LIVE,
    CopyEventsToProfiles,
    DelayedCall,
    ImportData,
    MigrateUp,
    SegmentProfiles,
    SendToWebhook,
    TraitsCopy,
)
from tracardi.engine import TaskService
from tracardi.engine.imports import ImportService
from tracardi.engine.profiling import EventsToProfiles
from tracardi.engine.segmentation import LiveSegmenter
from tracardi.log import get_logger
from tracardi.metrics import Metrics
from tracardi.storage import DocumentStore, Queue
from tracardi.workers.handlers import DelayedCalls, DelayedFn, Migration, PropsToTraits, Webhooks
from tracardi.workers.imports import Imports
from tracardi.workers.runner import Abort, Consumer, JobState, Retry, WorkerOptions, backoff, consumer_name
from tracardi.workers.segmentation import CopyToProfiles, LiveSegmentation

log = get_logger("workers")


class WorkersOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the workers role (section ``[workers]``)."""

    default: WorkerOptions = msgspec.field(default_factory=WorkerOptions)
    """How every queue is consumed unless ``queues`` says otherwise."""
    queues: dict[str, WorkerOptions] = {}
    """Per queue name, e.g. ``[workers.queues."destinations:worker"] concurrency = 16``."""
    drain_timeout: float = 10.0
    """Seconds running jobs get to finish on stop."""

    def for_queue(self, name: str) -> WorkerOptions:
        return self.queues.get(name, self.default)


@dataclass(slots=True)
class WorkerDeps:
    """What the handlers need, built by the composition root."""

    queue: Queue
    store: DocumentStore
    metrics: Metrics
    tasks: TaskService
    delayed: Mapping[str, DelayedFn] = field(default_factory=dict)
    imports: ImportService | None = None
    segmenter: LiveSegmenter | None = None
    events_to_profiles: EventsToProfiles | None = None


def build_consumers(deps: WorkerDeps, options: WorkersOptions, http: httpx.AsyncClient) -> list[Consumer[Any]]:
    """The consumers of every queue this version serves (an explicit table, no registration)."""
    me = consumer_name()
    common: dict[str, Any] = {"consumer": me, "metrics": deps.metrics}
    consumers: list[Consumer[Any]] = [
        Consumer(
            deps.queue,
            EVENT_PROPS_TO_TRAITS,
            TraitsCopy,
            PropsToTraits(deps.store, deps.tasks),
            options.for_queue(EVENT_PROPS_TO_TRAITS),
            **common,
        ),
        Consumer(deps.queue, DESTINATIONS, SendToWebhook, Webhooks(http), options.for_queue(DESTINATIONS), **common),
        Consumer(deps.queue, DELAYED, DelayedCall, DelayedCalls(deps.delayed), options.for_queue(DELAYED), **common),
        Consumer(deps.queue, MIGRATION, MigrateUp, Migration(deps.tasks), options.for_queue(MIGRATION), **common),
    ]
    if deps.imports is not None:
        imports = options.for_queue(IMPORT)
        consumers.append(Consumer(deps.queue, IMPORT, ImportData, Imports(deps.imports, imports), imports, **common))
    if deps.segmenter is not None:
        live = LiveSegmentation(deps.segmenter)
        consumers.append(
            Consumer(
                deps.queue, SEGMENTATION_LIVE, SegmentProfiles, live, options.for_queue(SEGMENTATION_LIVE), **common
            )
        )
    if deps.events_to_profiles is not None:
        copy = CopyToProfiles(deps.events_to_profiles, deps.tasks)
        consumers.append(
            Consumer(
                deps.queue, EVENT_TO_PROFILE, CopyEventsToProfiles, copy, options.for_queue(EVENT_TO_PROFILE), **common
            )
        )
    return consumers


async def run_workers(deps: WorkerDeps, options: WorkersOptions, stop: asyncio.Event, *, burst: bool = False) -> None:
    """Run every consumer until ``stop`` (or, with ``burst``, until their queues are empty)."""
    async with httpx.AsyncClient() as http:
        consumers = build_consumers(deps, options, http)
        log.info("role_started", role="workers", queues=[c.name for c in consumers])
        async with asyncio.TaskGroup() as group:
            for consumer in consumers:
                group.create_task(consumer.run(stop, burst=burst, drain_timeout=options.drain_timeout))
        log.info("role_stopped", role="workers")


__all__ = [
    "Abort",
    "Consumer",
    "JobState",
    "Retry",
    "WorkerDeps",
    "WorkerOptions",
    "WorkersOptions",
    "backoff",
    "build_consumers",
    "run_workers",
]
