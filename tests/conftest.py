"""Shared fixtures: settings on a temporary data folder, a real uvicorn server on a free port, an HTTP client."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from osmem_server import OsmemServer

from tracardi import log as logging_setup
from tracardi.runtime import make_server
from tracardi.services import Services, open_services
from tracardi.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "tracardi.toml"
ADMIN_TOKEN = "test-admin-token"
DEMO = "demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session", autouse=True)
def _quiet_logs() -> None:
    logging_setup.configure("console", "warning")


@pytest.fixture(scope="session")
def osmem_server() -> Iterator[OsmemServer]:
    """osmem-server (PyPI), the in-memory OpenSearch stand-in, once per session; tests use ``osmem_url`` clones.

    Overrides the plugin's fixture to skip Japanese analysis (unused) and to close the process pipe it leaves open.
    """
    server = OsmemServer.start(japanese=False)
    yield server
    server.close()
    if server.process.stdout is not None:
        server.process.stdout.close()


@pytest.fixture
def redis_url() -> str:
    """The Redis the test run uses (started by scripts/with-redis.sh when none answered)."""
    return os.environ.get("TRACARDI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own (tests share one Redis); its keys are deleted afterwards."""
    prefix = f"tracardi-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings from the shipped config file, on a fresh data folder, with a known admin token."""

    def make(**sections: dict[str, Any]) -> Settings:
        base: dict[str, dict[str, Any]] = {
            "storage": {"path": str(tmp_path / "data")},
            "admin": {"token": ADMIN_TOKEN},
            "log": {"level": "warning"},
            "api": {"port": free_port()},
        }
        for name, values in sections.items():
            base.setdefault(name, {}).update(values)
        return load_settings(CONFIG, environ={}, **base)

    return make


@dataclass
class Running:
    """A live server: its client, its base url and the services behind it."""

    client: httpx.AsyncClient
    url: str
    services: Services

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def track(self, body: Any, **kw: Any) -> httpx.Response:
        return await self.client.post("/track", json=body, **kw)


async def start_server(settings: Settings) -> AsyncIterator[Running]:
    async with open_services(settings) as services:
        server = make_server(services)
        task = asyncio.create_task(server.serve())
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        url = f"http://127.0.0.1:{settings.api.port}"
        try:
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                yield Running(client, url, services)
        finally:
            server.should_exit = True
            await task


@pytest.fixture
async def server(make_settings: SettingsFactory) -> AsyncIterator[Running]:
    """A real uvicorn serving the app on a free port, over the embedded store in tmp_path."""
    async for running in start_server(make_settings()):
        yield running


def payload(*events: dict[str, Any], source: str = DEMO, **top: Any) -> dict[str, Any]:
    """A tracker payload (events default to one page-view)."""
    return {"source": {"id": source}, "events": list(events) or [{"type": "page-view"}], **top}
