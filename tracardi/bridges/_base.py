"""What every broker kind provides to the bridge loop: deliveries, ack, dead-letter, lag; and their common config.

A broker is a thin adapter over one client library. The loop in ``_bridge.py`` owns the semantics (concurrency,
ack after the tracker stored, dead-lettering, reconnecting with backoff, draining on stop); a broker only moves
bytes. Every client error a broker lets out means "the connection is gone": the loop closes it and reconnects.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec


class BridgeConfigError(Exception):
    """A bridge cannot be built: bad source config (the message names the field) or a missing client library."""


@dataclass(slots=True)
class Delivery:
    """One message taken from a broker and not yet acknowledged.

    ``id`` is stable across redeliveries of the same message (the broker's id, else a hash of the body), so the
    events it becomes get the same ids every time. ``redelivered`` is True when the broker says (or cannot rule
    out) that this message was handed out before; only then does the bridge look whether it was already stored.
    ``handle`` is what the broker needs to acknowledge it.
    """

    id: str
    body: bytes
    redelivered: bool
    handle: Any = None
    problem: str = ""
    """Set by the broker when the message is unusable as received (e.g. a stream entry without its field)."""


class Mapping(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a foreign JSON message becomes one event: dot paths into the message (``data.user.id``).

    Without a mapping a message is a /track body.
    """

    event_type: str
    """Path of the event type (required in every message)."""
    properties: str = ""
    """Path of the event properties (an object); empty: the whole message."""
    profile_id: str = ""
    """Path of the profile id; empty or missing in a message: a new profile (or the session's)."""
    session_id: str = ""
    """Path of the session id."""
    context: str = ""
    """Path of the event context (an object)."""
    time: str = ""
    """Path of the event time (ISO 8601); missing: the time it was tracked."""


class BridgeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings every bridge kind shares (keys of the event source's ``config``)."""

    concurrency: int = 8
    """Messages tracked at once; 1 keeps the broker's order."""
    prefetch: int = 32
    """Messages the broker may hand out ahead of acknowledgement (where the broker supports a limit)."""
    max_bytes: int = 1_048_576
    """Larger messages are dead-lettered unread."""
    mapping: Mapping | None = None
    """Decode a foreign shape instead of a /track body."""
    id_path: str = ""
    """Dot path of a message id inside the message; empty: the broker's id (or a hash of the body)."""
    static_profile_id: bool = False
    """The tracker's flag (adopt profile ids the messages name), kept here so the config is checked as one."""

    def check(self) -> str:
        """The first problem the types cannot say, or an empty string."""
        if self.concurrency < 1:
            return "`concurrency` must be at least 1"
        if self.prefetch < 1:
            return "`prefetch` must be at least 1"
        if self.max_bytes < 1:
            return "`max_bytes` must be at least 1"
        return ""


class Broker(Protocol):
    """One connection to one queue of one broker."""

    async def connect(self) -> None:
        """Open the connection and declare what the config asks for; raise when the broker cannot be reached."""
        ...

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        """Up to ``limit`` messages, waiting at most ``wait`` seconds for the first; [] when none came."""
        ...

    async def ack(self, delivery: Delivery) -> None:
        """The message is done: the broker may forget it."""
        ...

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Move the message to the dead-letter destination with the reason, then forget the original."""
        ...

    async def lag(self) -> int | None:
        """Messages waiting in the broker for this consumer, when the broker tells it."""
        ...

    async def close(self) -> None:
        """Close the connection; unacknowledged messages are delivered again later (never raises)."""
        ...


def body_id(body: bytes) -> str:
    """A message id for brokers without one: the body's hash (identical bodies are one message)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def envelope(body: bytes, reason: str, origin: str) -> bytes:
    """A dead letter for destinations without headers: JSON with the reason and the body (base64 if not UTF-8)."""
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return msgspec.json.encode({"reason": reason, "origin": origin, "encoding": encoding, "body": text})
