"""A visit: what device and app the visitor used and the context they came with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracardi.domain.common import OS, UTM, Application, Device, PrimaryEntity

_f = msgspec.field


class SessionTime(msgspec.Struct, kw_only=True):
    insert: datetime | None = None
    create: datetime | None = None
    update: datetime | None = None
    timestamp: float = 0.0
    duration: float = 0.0
    weekday: int | None = None


class SessionMetadata(msgspec.Struct, kw_only=True):
    time: SessionTime = _f(default_factory=SessionTime)
    channel: str | None = None
    aux: dict[str, Any] = {}
    # None, "active", "started" (visit-started seen) or "ended" (visit-ended seen)
    status: str | None = None


class Session(msgspec.Struct, kw_only=True):
    """One visit of one profile (or of nobody, for profile-less tracking)."""

    id: str
    metadata: SessionMetadata = _f(default_factory=SessionMetadata)
    profile: PrimaryEntity | None = None
    device: Device = _f(default_factory=Device)
    os: OS = _f(default_factory=OS)
    app: Application = _f(default_factory=Application)
    utm: UTM = _f(default_factory=UTM)
    context: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    aux: dict[str, Any] = {}


def new_session(session_id: str, now: datetime) -> Session:
    """A fresh session opened at ``now``."""
    session = Session(id=session_id)
    t = session.metadata.time
    t.insert = now
    t.create = now
    t.timestamp = now.timestamp()
    t.weekday = now.weekday()
    return session
