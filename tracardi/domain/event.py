"""A stored event: what happened, to whom, in which session, with what data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracardi.domain.common import OS, UTM, Application, Device, Entity, Hit, PrimaryEntity

_f = msgspec.field


class EventTime(msgspec.Struct, kw_only=True):
    insert: datetime | None = None
    create: datetime | None = None
    update: datetime | None = None
    process_time: float = 0
    total_time: float = 0


class ProcessedBy(msgspec.Struct, kw_only=True):
    rules: list[str] = []
    flows: list[str] = []
    third_party: list[str] = []


class EventMetadata(msgspec.Struct, kw_only=True):
    time: EventTime = _f(default_factory=EventTime)
    ip: str | None = None
    # "collected" when stored by the collector, "processed" once workflows ran, "error" on failure
    status: str = "collected"
    channel: str | None = None
    processed_by: ProcessedBy = _f(default_factory=ProcessedBy)
    profile_less: bool = False
    debug: bool = False
    valid: bool = True
    error: bool = False
    warning: bool = False
    merge: bool = False
    instance: dict[str, Any] = {}
    aux: dict[str, Any] = {}


class EventSession(msgspec.Struct, kw_only=True):
    id: str
    start: datetime | None = None
    duration: float = 0
    tz: str | None = None


class Tags(msgspec.Struct, kw_only=True):
    values: list[str] = []
    count: int = 0


class Journey(msgspec.Struct, kw_only=True):
    state: str | None = None


class Event(msgspec.Struct, kw_only=True):
    """One tracked event as stored."""

    id: str
    type: str
    name: str | None = None
    metadata: EventMetadata = _f(default_factory=EventMetadata)
    source: Entity
    session: EventSession | None = None
    profile: PrimaryEntity | None = None
    properties: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    context: dict[str, Any] = {}
    request: dict[str, Any] = {}
    config: dict[str, Any] = {}
    tags: Tags = _f(default_factory=Tags)
    utm: UTM = _f(default_factory=UTM)
    os: OS = _f(default_factory=OS)
    app: Application = _f(default_factory=Application)
    device: Device = _f(default_factory=Device)
    hit: Hit = _f(default_factory=Hit)
    journey: Journey = _f(default_factory=Journey)
    data: dict[str, Any] = {}
    aux: dict[str, Any] = {}


def normalize_event_type(raw: str) -> str:
    """Tracardi's stored form of an event type: trimmed, lower-cased, spaces as dashes."""
    return raw.strip().lower().replace(" ", "-")


def event_name(event_type: str) -> str:
    """The display name of an event type: ``page-view`` -> ``Page View``."""
    return " ".join(part.capitalize() for part in event_type.replace("_", "-").split("-") if part)
