"""The ``bridges`` role: consumers of external brokers feeding the tracker, one per bridge event source.

Broker kinds (the source's ``type``): ``redis-list``, ``redis-stream`` (core install), ``rabbitmq``, ``mqtt``,
``nats``, ``kafka`` (optional extras ``tracardi[rabbitmq]`` ...). Each kind's client is imported only in its own
module, and only when a source of that kind exists.
"""

from tracardi.bridges._base import BridgeConfig, BridgeConfigError, Broker, Delivery, Mapping
from tracardi.bridges._bridge import Bridge, BridgeDeps, BridgesOptions, backoff
from tracardi.bridges._decode import InvalidMessage, MessageDecoder, event_id
from tracardi.bridges._kinds import KINDS, build_broker, check_source, kind_of
from tracardi.bridges._supervisor import Supervisor, run_bridges

__all__ = [
    "KINDS",
    "Bridge",
    "BridgeConfig",
    "BridgeConfigError",
    "BridgeDeps",
    "BridgesOptions",
    "Broker",
    "Delivery",
    "InvalidMessage",
    "Mapping",
    "MessageDecoder",
    "Supervisor",
    "backoff",
    "build_broker",
    "check_source",
    "event_id",
    "kind_of",
    "run_bridges",
]
