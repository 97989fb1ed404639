"""The bridges role: which sources get a bridge, bad configs, missing clients, a broker that is not there."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import msgspec
import pytest

from tests.bridges.conftest import FAST, add_source, connected, tracked, wait_until
from tests.bridges.harness import RedisListHarness, opened
from tests.conftest import ROOT
from tracardi.bridges import BridgeConfigError, Supervisor, build_broker
from tracardi.domain.source import EventSource
from tracardi.services import Services

BODY = msgspec.json.encode({"events": [{"type": "bridge-test", "properties": {"n": 1}}]})


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"key": 5}, "Expected `str`, got `int` - at `config.key`"),
        ({}, "missing required field `key`"),
        ({"key": "k", "prefech": 10}, "unknown field `prefech`"),
        ({"key": "k", "concurrency": 0}, "`concurrency` must be at least 1"),
        ({"key": "k", "mapping": {"properties": "data"}}, "missing required field `event_type` - at `config.mapping`"),
    ],
)
def test_a_bad_config_is_refused_naming_the_field(config: dict[str, object], named: str) -> None:
    with pytest.raises(BridgeConfigError, match="source `s1` \\(redis-list\\): invalid config") as caught:
        build_broker("redis-list", "s1", config)
    assert named in str(caught.value)


def test_a_kind_whose_client_is_missing_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aio_pika", None)  # an import of it now fails as if not installed
    monkeypatch.delitem(sys.modules, "tracardi.bridges.rabbitmq", raising=False)
    with pytest.raises(BridgeConfigError, match=r"needs the `aio_pika` package: pip install 'tracardi\[rabbitmq\]'"):
        build_broker("rabbitmq", "s1", {"queue": "q"})


def test_the_core_install_imports_no_broker_client() -> None:
    code = (
        "import sys, tracardi.runtime, tracardi.bridges, tracardi.bridges.redis;"
        "found = {'aio_pika', 'aiomqtt', 'paho', 'nats', 'aiokafka'} & set(sys.modules);"
        "assert not found, found"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


async def test_one_bad_source_does_not_stop_the_others(services: Services) -> None:
    async with opened(RedisListHarness) as good:
        await add_source(services, "redis-list", good.config(), "good")
        await add_source(services, "redis-list", {"key": 5}, "bad")
        await add_source(services, "rabbitmq", {"url": "amqp://guest:guest@127.0.0.1:1/", "queue": "q"}, "down")
        await services.sources.save(EventSource(id="rest-only", type=["rest"]))
        supervisor = Supervisor(services.bridges(), FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop))
        await wait_until(lambda: _reconnected(services, "down", "rabbitmq"))
        await good.publish([BODY])
        await wait_until(lambda: _tracked_one(services))
        assert set(supervisor.running) == {"good", "down"}  # "bad" logged its field and did not start
        assert not connected(services, "rabbitmq", "down")
        stop.set()
        await task
        assert supervisor.running == {}


async def _reconnected(services: Services, source: str, kind: str) -> bool:
    value = services.metrics.registry.get_sample_value(
        "tracardi_bridge_reconnects_total", {"source": source, "kind": kind}
    )
    return (value or 0) >= 2


async def _tracked_one(services: Services) -> bool:
    return await tracked(services) == 1


async def test_a_changed_or_disabled_source_restarts_or_stops_its_bridge(services: Services) -> None:
    async with opened(RedisListHarness) as first, opened(RedisListHarness) as second:
        await add_source(services, "redis-list", first.config(), "moving")
        supervisor = Supervisor(services.bridges(), FAST)
        stop = asyncio.Event()
        task = asyncio.create_task(supervisor.run(stop))
        await wait_until(lambda: _connected(services))
        await add_source(services, "redis-list", second.config(), "moving")  # now it reads another list
        await second.publish([BODY])
        await wait_until(lambda: _tracked_one(services))
        await services.sources.save(
            EventSource(id="moving", type=["redis-list"], config=second.config(), enabled=False)
        )
        await wait_until(lambda: _none_running(supervisor))
        stop.set()
        await task


async def _connected(services: Services) -> bool:
    return connected(services, "redis-list", "moving")


async def _none_running(supervisor: Supervisor) -> bool:
    return not supervisor.running
