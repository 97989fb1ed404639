"""Fixtures of the bridge tests: a broker harness per kind (skipped with the reason when its broker is absent)
and the services of a real process over a fresh embedded store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.bridges.harness import HARNESSES, Harness
from tests.conftest import SettingsFactory
from tracardi.bridges import BridgesOptions, run_bridges
from tracardi.domain.query import Eq
from tracardi.domain.source import EventSource
from tracardi.services import Services, open_services
from tracardi.storage import EVENTS

FAST = BridgesOptions(poll=0.1, rescan=0.2, drain_timeout=5.0, backoff_min=0.05, backoff_max=0.5, lag_interval=0.1)
SOURCE = "bridged"
EVENT_TYPE = "bridge-test"


@pytest.fixture(params=HARNESSES, ids=[h.kind for h in HARNESSES])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    cls: type[Harness] = request.param
    reason = cls.skip_reason()
    if reason:
        pytest.skip(reason)
    h = cls()
    await h.prepare()
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
async def services(make_settings: SettingsFactory) -> AsyncIterator[Services]:
    async with open_services(make_settings(storage={"synchronous": "NORMAL"})) as s:
        yield s


async def add_source(services: Services, kind: str, config: dict[str, Any], source_id: str = SOURCE) -> None:
    await services.sources.save(EventSource(id=source_id, type=[kind], config=config))


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def tracked(services: Services, event_type: str = EVENT_TYPE) -> int:
    return await services.store.count(EVENTS, Eq(field="type", value=event_type))


def connected(services: Services, kind: str, source_id: str = SOURCE) -> bool:
    sample = services.metrics.registry.get_sample_value(
        "tracardi_bridge_connected", {"source": source_id, "kind": kind}
    )
    return sample == 1.0


class Running:
    """The bridges role over the test's services, stopped gracefully or aborted like a crash."""

    def __init__(self, services: Services, options: BridgesOptions = FAST) -> None:
        self.stop = asyncio.Event()
        self.services = services
        self.task = asyncio.create_task(run_bridges(services.bridges(), options, self.stop))

    async def connected(self, kind: str) -> None:
        """Wait until the bridge is connected (an MQTT subscription only gets what is published after it)."""

        async def check() -> bool:
            return connected(self.services, kind)

        await wait_until(check)

    async def graceful(self) -> None:
        self.stop.set()
        await self.task

    async def crash(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
