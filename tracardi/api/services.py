"""What the HTTP layer needs, handed to it by the composition root through the lifespan state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from tracardi.domain.payload import TrackerPayload
from tracardi.domain.source import EventSource
from tracardi.engine import (
    Background,
    ImportService,
    JobService,
    QueueService,
    RecordService,
    SourceService,
    TaskService,
    Tracker,
)
from tracardi.engine.profiling import ProfilingService
from tracardi.engine.segmentation import LiveSegmentService
from tracardi.engine.workflow import FlowService, Workflows
from tracardi.metrics import Metrics

STATE_KEY = "tracardi"


class ApiOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the HTTP server (section ``[api]``)."""

    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: int = 8686
    """Port to listen on (Tracardi's)."""
    max_body_bytes: int = 1_048_576
    """Largest request body accepted; larger ones get 413 before they are read."""
    forwarded_ip_header: str = ""
    """Header holding the client ip behind a proxy (e.g. x-forwarded-for); empty: the socket peer."""
    admin: bool = True
    """Serve the admin API under /api (switch off on public collector hosts)."""


@dataclass(slots=True)
class ApiServices:
    """Engine services and settings the routes use."""

    tracker: Tracker
    sources: SourceService
    records: RecordService
    metrics: Metrics
    admin_token: str
    readiness: Callable[[], Awaitable[dict[str, str]]]
    queues: QueueService
    jobs: JobService
    background: Background
    tasks: TaskService
    flows: FlowService
    workflows: Workflows
    profiling: ProfilingService
    live_segments: LiveSegmentService
    options: ApiOptions = field(default_factory=ApiOptions)
    check_source: Callable[[EventSource], None] = lambda _: None
    """Raises InvalidInput for a source that cannot work (a bridge source's config); set by the composition root."""
    payload_decoder: msgspec.json.Decoder[TrackerPayload] = field(
        default_factory=lambda: msgspec.json.Decoder(TrackerPayload)
    )
    encoder: msgspec.json.Encoder = field(default_factory=msgspec.json.Encoder)
    imports: ImportService | None = None
