"""The bridge kinds: source type -> its config Struct and the module and class of its broker (an explicit table).

A kind's broker module imports its client library, which is an optional extra; it is imported only when a bridge
of that kind starts, so the core install runs without any broker client and a missing one is a clear message.
Configs are checked without the client (``check_source``), e.g. by the admin API when a source is saved.
"""

from __future__ import annotations

import importlib
import re
import socket
from dataclasses import dataclass
from typing import Any

import msgspec

from tracardi.bridges._base import BridgeConfig, BridgeConfigError, Broker
from tracardi.bridges._configs import (
    KafkaConfig,
    MqttConfig,
    NatsConfig,
    RabbitMqConfig,
    RedisListConfig,
    RedisStreamConfig,
)
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.source import EventSource


@dataclass(frozen=True, slots=True)
class Kind:
    config: type[BridgeConfig]
    module: str
    broker: str
    extra: str


KINDS: dict[str, Kind] = {
    "redis-list": Kind(RedisListConfig, "tracardi.bridges.redis", "RedisListBroker", ""),
    "redis-stream": Kind(RedisStreamConfig, "tracardi.bridges.redis", "RedisStreamBroker", ""),
    "rabbitmq": Kind(RabbitMqConfig, "tracardi.bridges.rabbitmq", "RabbitMqBroker", "rabbitmq"),
    "mqtt": Kind(MqttConfig, "tracardi.bridges.mqtt", "MqttBroker", "mqtt"),
    "nats": Kind(NatsConfig, "tracardi.bridges.nats", "NatsBroker", "nats"),
    "kafka": Kind(KafkaConfig, "tracardi.bridges.kafka", "KafkaBroker", "kafka"),
}
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def kind_of(types: list[str]) -> str | None:
    """The bridge kind a source's types name (the first one), or None."""
    return next((t for t in types if t in KINDS), None)


def _problem(kind: str, config: dict[str, Any] | None) -> tuple[BridgeConfig | None, str, list[str | int]]:
    """The checked config, or None with the message and the path (inside ``config``) of the first problem."""
    try:
        checked = msgspec.convert(config or {}, KINDS[kind].config)
    except msgspec.ValidationError as exc:
        text = str(exc)
        at = _AT.search(text)
        path = at.group("path") if at else ""
        loc: list[str | int] = [int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", path) if p]
        shown = text.replace("`$.", "`config.").replace("`$`", "`config`")
        return None, shown, loc
    problem = checked.check()
    return (checked, "", []) if not problem else (None, problem, [])


def check_source(source: EventSource) -> None:
    """Raise InvalidInput naming ``config.<field>`` when a bridge source's config cannot work."""
    kind = kind_of(source.type)
    if kind is None:
        return
    checked, message, loc = _problem(kind, source.config)
    if checked is None:
        raise InvalidInput(f"Invalid {kind} bridge config: {message}", [FieldError(["body", "config", *loc], message)])


def build_broker(kind: str, source_id: str, config: dict[str, Any] | None) -> tuple[Broker, BridgeConfig]:
    """The broker of a source and its checked config; BridgeConfigError names the field or the missing package."""
    checked, message, _ = _problem(kind, config)
    if checked is None:
        raise BridgeConfigError(f"source `{source_id}` ({kind}): invalid config: {message}")
    spec = KINDS[kind]
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        raise BridgeConfigError(
            f"bridge kind `{kind}` needs the `{exc.name}` package: pip install 'tracardi[{spec.extra}]'"
        ) from exc
    broker: Broker = getattr(module, spec.broker)(checked, source_id=source_id, host=socket.gethostname())
    return broker, checked
