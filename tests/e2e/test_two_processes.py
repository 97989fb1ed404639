"""Two processes, ``--role api`` and ``--role workers,jobs``, on one Redis and one data folder, do the whole job:
the API tracks and starts a task, the background host copies the event's properties to traits and ends the
idle visit on schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import ADMIN_TOKEN, ROOT, free_port

CONFIG = """
[jobs]
misfire_grace = 1.0

[[jobs.definitions]]
name = "visit-end"
kind = "visit-end"
source = "demo"
interval = 0.5
idle = 0.3
"""


def _call(port: int, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", "authorization": f"Bearer {ADMIN_TOKEN}"}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _wait_for(check: Any, what: str, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"tracardi-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def test_api_and_background_hosts_share_redis_and_storage(tmp_path: Path, redis_url: str, prefix: str) -> None:
    config = tmp_path / "config" / "tracardi.toml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    (config.parent / "resources").symlink_to(ROOT / "config" / "resources")
    port = free_port()
    env = {
        **os.environ,
        "TRACARDI_STORAGE_PATH": str(tmp_path / "data"),
        "TRACARDI_REDIS_URL": redis_url,
        "TRACARDI_REDIS_PREFIX": prefix,
        "TRACARDI_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRACARDI_LOG_LEVEL": "warning",
        # two processes write one SQLite file: neither may trust an in-memory copy of profiles and sessions
        "TRACARDI_STORAGE_CACHE_SIZE": "0",
    }
    base = [sys.executable, "-m", "tracardi", "--config", str(config), "--log-format", "json"]
    api = subprocess.Popen([*base, "--role", "api", "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    background = None
    try:
        _wait_for(lambda: _healthy(port), "the API host")
        background = subprocess.Popen([*base, "--role", "workers,jobs"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
        tracked = _call(
            port,
            "POST",
            "/track",
            {
                "source": {"id": "demo"},
                "events": [{"type": "purchase", "properties": {"price": 12.5}}],
                "debug": True,
            },
        )
        event_id = tracked["events"][0]
        task = {"kind": "copy-event-props-to-traits", "event_ids": [event_id], "fields": {"price": "value"}}
        _call(port, "POST", "/api/tasks/event_props_to_event_traits:worker", task)
        event = _wait_for(
            lambda: (e := _call(port, "GET", f"/api/events/{event_id}")).get("traits") and e, "the traits copy"
        )
        assert event["traits"] == {"value": 12.5}
        runs = _wait_for(
            lambda: [r for r in _call(port, "GET", "/api/jobs/visit-end/runs")["items"] if r["profiles"]],
            "a visit-end run that ended the visit",
        )
        assert runs[0]["status"] == "done"
        session = _call(port, "GET", f"/api/sessions/{tracked['session']['id']}")
        assert session["metadata"]["status"] == "ended"
        events = _call(port, "GET", f"/api/sessions/{tracked['session']['id']}/events")["items"]
        assert [e["type"] for e in events].count("visit-ended") == 1
        assert _call(port, "GET", "/api/queues")["event_props_to_event_traits:worker"]["depth"] == 0
    finally:
        for proc in (background, api):
            if proc is not None:
                proc.terminate()
        for proc in (background, api):
            if proc is not None:
                _, err = proc.communicate(timeout=30)
                assert proc.returncode == 0, err.decode()[-3000:]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
            return True
    except OSError:
        return False
