"""Event sources: the write keys that clients track against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracardi.domain.common import NamedEntity

# the last five (and mqtt) name bridge kinds: the bridges role consumes that broker for the source
SOURCE_TYPES = frozenset(
    {"rest", "javascript", "webhook", "redirect", "internal", "queue", "mqtt", "imap"}
    | {"redis-list", "redis-stream", "rabbitmq", "nats", "kafka"}
)


class EventSource(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """An inbound source: its id is the tracking key; ``type`` lists the endpoints it may use."""

    id: str
    name: str = ""
    type: list[str] = msgspec.field(default_factory=lambda: ["rest"])
    bridge: NamedEntity = msgspec.field(default_factory=lambda: NamedEntity(id="", name=""))
    timestamp: datetime | None = None
    description: str = "No description provided"
    channel: str = ""
    enabled: bool = True
    # collect and process, but store neither events nor the session
    transitional: bool = False
    tags: list[str] = msgspec.field(default_factory=lambda: ["general"])
    groups: list[str] = []
    permanent_profile_id: bool = False
    requires_consent: bool = False
    manual: str | None = None
    locked: bool = False
    synchronize_profiles: bool = True
    config: dict[str, Any] | None = None
    production: bool = False
    running: bool = False

    def allows(self, endpoint_type: str) -> bool:
        """Whether this source may be used on an endpoint of this kind (``rest``, ``webhook``, ...).

        A ``javascript`` source is the browser tracker, which posts to /track like a ``rest`` source.
        """
        if endpoint_type in self.type:
            return True
        return endpoint_type == "rest" and "javascript" in self.type

    @property
    def static_profile_id(self) -> bool:
        """Whether client-given profile ids are adopted (REST ``config.static_profile_id``)."""
        return self.permanent_profile_id or bool((self.config or {}).get("static_profile_id", False))
