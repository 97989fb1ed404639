"""The source config of each bridge kind: plain Structs with no client library behind them.

Kept apart from the broker modules so a config can be checked (at start, and by the admin API when a source is
saved) on a host where the kind's client is not installed.
"""

from __future__ import annotations

from tracardi.bridges._base import BridgeConfig


class RedisListConfig(BridgeConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Source config of a ``redis-list`` bridge."""

    key: str
    """The list producers LPUSH messages on."""
    url: str = "redis://127.0.0.1:6379/0"
    consumer: str = ""
    """Names this bridge's processing list (``<key>:processing:<consumer>``); empty: the host name."""
    dead_letter_key: str = ""
    """Empty: ``<key>:dead``."""


class RedisStreamConfig(BridgeConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Source config of a ``redis-stream`` bridge."""

    stream: str
    """The stream producers XADD on (created when missing)."""
    url: str = "redis://127.0.0.1:6379/0"
    field: str = "body"
    """The entry field holding the message."""
    group: str = "tracardi"
    consumer: str = ""
    """This bridge's name in the group; empty: the host name."""
    start: str = "0"
    """Where a new group starts: ``0`` (the whole stream) or ``$`` (new entries only)."""
    claim_idle: float = 60.0
    """Seconds after which entries another consumer left pending are claimed (XAUTOCLAIM)."""
    dead_letter_stream: str = ""
    """Empty: ``<stream>:dead``."""


class RabbitMqConfig(BridgeConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Source config of a ``rabbitmq`` bridge."""

    queue: str
    """The queue to consume."""
    url: str = "amqp://guest:guest@127.0.0.1:5672/"
    declare: bool = True
    """Declare the queue (durable) when missing; false: it must exist."""
    dead_letter_queue: str = ""
    """Empty: ``<queue>.dead`` (declared durable)."""


class MqttConfig(BridgeConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Source config of an ``mqtt`` bridge."""

    topic: str
    """The topic filter to subscribe to."""
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = ""
    """The persistent session's id; empty: ``tracardi-<source id>``."""
    username: str = ""
    password: str = ""
    qos: int = 1
    """Subscription QoS: 1 or 2 (0 could lose messages)."""
    keepalive: int = 60
    dead_letter_topic: str = ""
    """Empty: ``tracardi/dead-letter/<source id>``."""

    def check(self) -> str:
        if self.qos not in (1, 2):
            return "`qos` must be 1 or 2"
        return super().check()


class NatsConfig(BridgeConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Source config of a ``nats`` bridge."""

    stream: str
    """The JetStream stream to consume."""
    subject: str
    """The subject (filter) to consume, e.g. ``events.>``."""
    url: str = "nats://127.0.0.1:4222"
    durable: str = ""
    """The durable consumer's name; empty: ``tracardi-<source id>``."""
    declare: bool = True
    """Create the stream (on ``subject``) when missing; false: it must exist."""
    ack_wait: float = 30.0
    """Seconds before an unacknowledged message is delivered again."""
    dead_letter_subject: str = ""
    """Empty: ``tracardi.dead-letter.<source id>``."""
    dead_letter_stream: str = ""
    """The stream that keeps the dead letters (created when missing); empty: ``<stream>_DEAD``."""


class KafkaConfig(BridgeConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Source config of a ``kafka`` bridge."""

    topic: str
    bootstrap_servers: str = "127.0.0.1:9092"
    """Comma-separated host:port list."""
    group: str = ""
    """The consumer group; empty: ``tracardi-<source id>``."""
    dead_letter_topic: str = ""
    """Empty: ``<topic>.dead``."""
