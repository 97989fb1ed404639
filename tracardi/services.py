"""Composition root, part one: pick the adapters from the settings and build the engine services once."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tracardi.api import ApiServices
from tracardi.bridges import BridgeDeps, check_source
from tracardi.engine import (
    Background,
    Heartbeat,
    ImportService,
    JobService,
    QueueService,
    RecordService,
    SourceService,
    TaskService,
    Tracker,
)
from tracardi.engine.profiling import EventsToProfiles, Profiler, ProfilingService
from tracardi.engine.segmentation import LiveSegmenter, LiveSegmentService
from tracardi.engine.workflow import ACTIONS, RESUME, ActionDeps, ActionRegistry, FlowResumer, FlowService, Workflows
from tracardi.log import get_logger
from tracardi.metrics import Metrics
from tracardi.resources import declare_flows, declare_live_segments, declare_profiling, declared_resources
from tracardi.settings import Settings, SettingsError
from tracardi.storage import DocumentStore, Leases, Locks, Migrator, Queue, StorageError
from tracardi.storage.embedded import SqliteDocumentStore, SqliteMigrations, SqliteQueue
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.memory import InProcessLeases, InProcessLocks
from tracardi.storage.opensearch import Migrations, OpenSearchDocumentStore
from tracardi.storage.readers import reader_factory
from tracardi.storage.redis import RedisLeases, RedisLocks, RedisQueue
from tracardi.workers import WorkerDeps

log = get_logger("runtime")
TOKEN_FILE = "admin-token"
DB_FILE = "tracardi.db"


@dataclass(slots=True)
class Services:
    """Everything the roles share in one process."""

    settings: Settings
    store: DocumentStore
    locks: Locks
    metrics: Metrics
    sources: SourceService
    records: RecordService
    tracker: Tracker
    admin_token: str
    queue: Queue
    leases: Leases
    background: Background
    queues: QueueService
    jobs: JobService
    tasks: TaskService
    flows: FlowService
    workflows: Workflows
    profiling: ProfilingService
    imports: ImportService
    live_segments: LiveSegmentService

    def api(self) -> ApiServices:
        """The subset the HTTP layer uses."""
        return ApiServices(
            tracker=self.tracker,
            sources=self.sources,
            records=self.records,
            metrics=self.metrics,
            admin_token=self.admin_token,
            readiness=self.readiness,
            queues=self.queues,
            jobs=self.jobs,
            background=self.background,
            tasks=self.tasks,
            flows=self.flows,
            workflows=self.workflows,
            profiling=self.profiling,
            options=self.settings.api,
            imports=self.imports,
            check_source=check_source,
            live_segments=self.live_segments,
        )

    def workers(self) -> WorkerDeps:
        """What the workers role uses."""
        return WorkerDeps(
            queue=self.queue,
            store=self.store,
            metrics=self.metrics,
            tasks=self.tasks,
            imports=self.imports,
            delayed={RESUME: FlowResumer(self.workflows, self.store, self.locks)},
            segmenter=LiveSegmenter(self.store, self.locks, self.workflows, _utcnow),
            events_to_profiles=EventsToProfiles(self.store, self.profiling, self.locks, _utcnow),
        )

    def bridges(self) -> BridgeDeps:
        """What the bridges role uses."""
        return BridgeDeps(tracker=self.tracker, sources=self.sources, store=self.store, metrics=self.metrics)

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state: ``ok`` or what is wrong."""
        checks = {}
        for name, ping in (("storage", self.store.ping), ("queue", self.queue.ping)):
            try:
                await ping()
                checks[name] = "ok"
            except StorageError as exc:
                checks[name] = f"unavailable: {exc}"
        return checks


def open_store(settings: Settings, data_dir: Path) -> DocumentStore:
    """The documents adapter the settings name (not yet migrated)."""
    backend = settings.storage.backend
    if backend == "opensearch":
        return OpenSearchDocumentStore(settings.opensearch, ALL_INDICES)
    if backend != "embedded":
        raise SettingsError(f"storage.backend = {backend!r} is not available; use 'embedded' or 'opensearch'")
    return SqliteDocumentStore(
        data_dir / DB_FILE,
        ALL_INDICES,
        cache_size=settings.storage.cache_size,
        synchronous=settings.storage.synchronous,
    )


def migrator_of(store: DocumentStore) -> Migrator:
    """The schema migrator of the store's adapter."""
    if isinstance(store, OpenSearchDocumentStore):
        return Migrations(store)
    if isinstance(store, SqliteDocumentStore):
        return SqliteMigrations(store)
    raise SettingsError(f"no schema migrator for {store!r}")


async def _open_shared(settings: Settings, store: DocumentStore) -> tuple[Queue, Leases, Locks]:
    """Queue, leases and locks: in Redis when ``redis.url`` is set, else in the embedded store and this process."""
    if settings.redis.url:
        prefix = settings.redis.prefix
        queue = RedisQueue.from_url(settings.redis.url, prefix=prefix)
        locks = RedisLocks(queue.client, prefix=prefix, ttl=settings.redis.lock_ttl)
        return queue, RedisLeases(queue.client, prefix=prefix), locks
    if not isinstance(store, SqliteDocumentStore):
        raise SettingsError("the embedded queue needs the embedded store; set redis.url")
    embedded = SqliteQueue(store)
    await embedded.migrate()
    return embedded, InProcessLeases(), InProcessLocks()


def import_folder(settings: Settings) -> Path:
    """The folder the admin API imports files from (``imports.folder``, else ``<storage.path>/imports``)."""
    return Path(settings.imports.folder or Path(settings.storage.path) / "imports")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def admin_token(settings: Settings, data_dir: Path) -> str:
    """The configured admin token, else the one kept in the data folder, else a new one written there."""
    if settings.admin.token:
        return settings.admin.token.reveal()
    path = data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text().strip()
        if token:
            log.info("admin_token_loaded", path=str(path.resolve()))
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    log.warning("admin_token_generated", path=str(path.resolve()), hint="send it as Authorization: Bearer <token>")
    return token


@asynccontextmanager
async def open_services(settings: Settings, metrics: Metrics | None = None) -> AsyncIterator[Services]:
    """Build the adapters and services; on exit flush buffered writes and close connections."""
    data_dir = Path(settings.storage.path)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    store = open_store(settings, data_dir)
    await store.migrate()
    queue: Queue | None = None
    http = httpx.AsyncClient()  # one client for the process: webhook actions share its connection pool
    try:
        queue, leases, locks = await _open_shared(settings, store)
        metrics = metrics or Metrics()
        sources = SourceService(store, ttl=settings.tracker.source_cache_ttl)
        background = Background(queue)
        live_segments = LiveSegmentService(store, background, _utcnow)
        flows = FlowService(store, ActionRegistry(ACTIONS), ttl=settings.workflows.cache_ttl)
        profiling = ProfilingService(store, ttl=settings.profiling.cache_ttl)
        profiler = Profiler(profiling, store, locks, settings.profiling)
        deps = ActionDeps(http=http, segment_now=profiler.segment_now)
        workflows = Workflows(flows, settings.workflows, background=background, deps=deps)
        tracker = Tracker(
            store, sources, locks, options=settings.tracker, metrics=metrics, workflows=workflows, profiler=profiler
        )
        await tracker.warm_up()
        declared = declared_resources(settings)
        for path, resources in declared:
            for source in resources.sources:
                await sources.save(source)
                log.info("source_declared", source_id=source.id, enabled=source.enabled)
            await declare_flows(flows, path, resources)
            await declare_profiling(profiling, path, resources)
        for path, resources in declared:
            await declare_live_segments(live_segments, path, resources)
        token = admin_token(settings, data_dir)
        background = Background(queue)
        folder = import_folder(settings)
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        opener = reader_factory(folder, max_line_bytes=settings.imports.max_line_bytes)
        yield Services(
            settings,
            store,
            locks,
            metrics,
            sources,
            RecordService(store),
            tracker,
            token,
            queue,
            leases,
            background,
            QueueService(queue, metrics=metrics),
            JobService(
                settings.jobs.definitions,
                store,
                leases,
                Heartbeat(store, tracker, _utcnow),
                _utcnow,
                lease_ttl=settings.jobs.lease_ttl,
                live_segments=live_segments,
            ),
            TaskService(store, _utcnow, migrator_of(store)),
            flows,
            workflows,
            profiling,
            ImportService(store, background, tracker, sources, opener, _utcnow, settings.imports),
            live_segments,
        )
    finally:
        await http.aclose()
        if queue is not None:
            await queue.close()
        await store.close()
