"""The bridge kinds: source type -> the module and class of its broker (an explicit table, imported on use).

A kind's module imports its client library, which is an optional extra; it is imported only when a source of
that kind exists, so the core install runs without any broker client, and a missing one is a clear message.
"""

from __future__ import annotations

import importlib
import socket
from dataclasses import dataclass
from typing import Any

import msgspec

from tracardi.bridges._base import BridgeConfig, BridgeConfigError, Broker


@dataclass(frozen=True, slots=True)
class Kind:
    module: str
    broker: str
    extra: str


KINDS: dict[str, Kind] = {
    "redis-list": Kind("tracardi.bridges.redis", "RedisListBroker", ""),
    "redis-stream": Kind("tracardi.bridges.redis", "RedisStreamBroker", ""),
    "rabbitmq": Kind("tracardi.bridges.rabbitmq", "RabbitMqBroker", "rabbitmq"),
    "mqtt": Kind("tracardi.bridges.mqtt", "MqttBroker", "mqtt"),
    "nats": Kind("tracardi.bridges.nats", "NatsBroker", "nats"),
    "kafka": Kind("tracardi.bridges.kafka", "KafkaBroker", "kafka"),
}


def kind_of(types: list[str]) -> str | None:
    """The bridge kind a source's types name (the first one), or None."""
    return next((t for t in types if t in KINDS), None)


def build_broker(kind: str, source_id: str, config: dict[str, Any] | None) -> tuple[Broker, BridgeConfig]:
    """The broker of a source and its checked config; BridgeConfigError names the field or the missing package."""
    spec = KINDS[kind]
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        raise BridgeConfigError(
            f"bridge kind `{kind}` needs the `{exc.name}` package: pip install 'tracardi[{spec.extra}]'"
        ) from exc
    broker_class = getattr(module, spec.broker)
    try:
        checked = msgspec.convert(config or {}, broker_class.Config)
    except msgspec.ValidationError as exc:
        text = str(exc).replace("`$.", "`config.").replace("`$`", "`config`")
        raise BridgeConfigError(f"source `{source_id}` ({kind}): invalid config: {text}") from exc
    problem = checked.check()
    if problem:
        raise BridgeConfigError(f"source `{source_id}` ({kind}): invalid config: {problem}")
    broker: Broker = broker_class(checked, source_id=source_id, host=socket.gethostname())
    return broker, checked
