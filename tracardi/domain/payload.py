"""Wire shapes of the collector: the tracker payload clients send and the response they read.

Inbound shapes tolerate unknown fields (the browser tracker sends extra keys such as ``device``);
ids must be strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class OptionalRef(msgspec.Struct, kw_only=True):
    """A client-side reference whose id may be missing or empty (then the server makes one)."""

    id: str | None = None
    primary_id: str | None = None


class SourceRef(msgspec.Struct, kw_only=True):
    id: str


class EventPayloadTime(msgspec.Struct, kw_only=True):
    insert: datetime | None = None
    create: datetime | None = None
    update: datetime | None = None


class EventPayload(msgspec.Struct, kw_only=True):
    """One event as a client sends it: only ``type`` is required."""

    type: str
    id: str | None = None
    time: EventPayloadTime | None = None
    properties: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    tags: list[str] | None = None


class TrackerPayload(msgspec.Struct, kw_only=True):
    """The body of ``POST /track``: one source, optional session and profile, many events."""

    source: SourceRef
    session: OptionalRef | None = None
    profile: OptionalRef | None = None
    metadata: Any = None
    context: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    request: dict[str, Any] | None = None
    events: list[EventPayload] = []
    options: dict[str, Any] | None = None
    profile_less: bool = False
    debug: bool = False

    def option(self, name: str, default: bool) -> bool:
        """A boolean option; anything that is not a JSON boolean falls back to the default (as Tracardi)."""
        value = (self.options or {}).get(name)
        return value if isinstance(value, bool) else default


class IdRef(msgspec.Struct, kw_only=True):
    id: str | None = None


class TrackResponse(msgspec.Struct, kw_only=True):
    """What ``/track`` answers; clients read ``profile.id`` and ``ux``."""

    task: str
    ux: list[Any] = []
    response: dict[str, Any] = {}
    events: list[str] = []
    profile: IdRef = msgspec.field(default_factory=IdRef)
    session: IdRef = msgspec.field(default_factory=IdRef)
    errors: list[str] = []
    warnings: list[str] = []
