"""The bridges role in a real process: a bridge source declared in a resource file feeds the tracker from Redis,
its events are readable over the admin API, its counters are on /metrics, SIGTERM stops it cleanly, and a process
killed with SIGKILL mid-stream loses and doubles nothing once restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec
import redis

from tests.conftest import ADMIN_TOKEN, ROOT, free_port
from tracardi.bridges import event_id
from tracardi.bridges._base import body_id
from tracardi.domain.query import Eq
from tracardi.services import open_services
from tracardi.settings import load_settings
from tracardi.storage import EVENTS, PROFILES

SOURCES = """
[[sources]]
id = "orders-queue"
type = ["redis-list"]
[sources.config]
url = "{url}"
key = "{key}"
consumer = "e2e"
concurrency = 4
[sources.config.mapping]
event_type = "kind"
properties = "data"
"""


def _get(port: int, path: str) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _wait_for(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_declared_bridge_source_tracks_broker_messages(tmp_path: Path, redis_url: str) -> None:
    key = f"tracardi-test:{uuid.uuid4().hex[:12]}:orders"
    config = tmp_path / "config" / "tracardi.toml"
    (config.parent / "resources").mkdir(parents=True)
    config.write_text("[bridges]\nrescan = 0.5\npoll = 0.2\n")
    (config.parent / "resources" / "sources.toml").write_text(SOURCES.format(url=redis_url, key=key))
    client = redis.Redis.from_url(redis_url)
    bodies = [msgspec.json.encode({"kind": "purchase", "data": {"n": n}}) for n in range(20)]
    port = free_port()
    env = {
        **os.environ,
        "TRACARDI_STORAGE_PATH": str(tmp_path / "data"),
        "TRACARDI_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRACARDI_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "tracardi", "--config", str(config), "--role", "api,bridges", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        client.lpush(key, *bodies, b"{broken")
        ids = [event_id("orders-queue", body_id(b), 0) for b in bodies]
        _wait_for(lambda: all(_get(port, f"/api/events/{i}")[0] == 200 for i in ids), "the events")
        _, event = _get(port, f"/api/events/{ids[3]}")
        assert msgspec.json.decode(event)["properties"] == {"n": 3}
        _wait_for(lambda: client.llen(f"{key}:dead") == 1, "the dead letter")
        _, metrics = _get(port, "/metrics")
        assert b'tracardi_bridge_consumed_total{kind="redis-list",source="orders-queue"} 20.0' in metrics
        assert b'tracardi_bridge_failed_total{kind="redis-list",source="orders-queue"} 1.0' in metrics
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        client.delete(key, f"{key}:dead", f"{key}:processing:e2e")
        client.close()
    assert proc.returncode == 0, err.decode()[-3000:]


CRASH_SOURCES = """
[[sources]]
id = "crash-queue"
type = ["redis-list"]
[sources.config]
url = "{url}"
key = "{key}"
consumer = "e2e"
concurrency = 16
"""


def _kill_and_restart(command: list[str], env: dict[str, str], client: redis.Redis, key: str) -> None:
    first = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    _wait_for(lambda: client.llen(key) <= 700, "a third of the messages taken")
    first.send_signal(signal.SIGKILL)  # no drain, no ack of what was in flight, no clean close
    first.wait(timeout=10)
    second = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    _wait_for(lambda: client.llen(key) + client.llen(f"{key}:processing:e2e") == 0, "every message finished")
    second.terminate()
    _, err = second.communicate(timeout=30)
    assert second.returncode == 0, err.decode()[-3000:]


async def test_a_bridge_process_killed_mid_stream_tracks_every_message_once_after_restart(
    tmp_path: Path, redis_url: str
) -> None:
    key = f"tracardi-test:{uuid.uuid4().hex[:12]}:crash"
    config = tmp_path / "config" / "tracardi.toml"
    (config.parent / "resources").mkdir(parents=True)
    config.write_text("[bridges]\nrescan = 0.5\npoll = 0.2\n")
    (config.parent / "resources" / "sources.toml").write_text(CRASH_SOURCES.format(url=redis_url, key=key))
    client = redis.Redis.from_url(redis_url)
    env = {**os.environ, "TRACARDI_STORAGE_PATH": str(tmp_path / "data"), "TRACARDI_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "tracardi", "--config", str(config), "--role", "bridges"]
    bodies = [msgspec.json.encode({"events": [{"type": "crash-test", "properties": {"n": n}}]}) for n in range(1000)]
    try:
        client.lpush(key, *bodies)
        await asyncio.to_thread(_kill_and_restart, command, env, client, key)
    finally:
        client.delete(key, f"{key}:dead", f"{key}:processing:e2e")
        client.close()

    settings = load_settings(config, environ={}, storage={"path": str(tmp_path / "data")}, log={"level": "warning"})
    async with open_services(settings) as services:
        numbers = [
            item.doc.properties["n"]
            async for page in services.store.scan(EVENTS, Eq(field="type", value="crash-test"))
            for item in page
        ]
        assert sorted(numbers) == list(range(1000))
        assert await services.store.count(PROFILES) == 1000  # a message tracked twice would make a second profile
