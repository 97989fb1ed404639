"""Scale-out: storage on OpenSearch (osmem), queues on Redis, two ``--role api`` hosts and one ``--role workers,jobs``
host as real processes. Tracks for the same profiles go to both API hosts at once while the background host
registers a heartbeat event on every profile: no update is lost (counters and event counts are exact)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import ADMIN_TOKEN, ROOT, free_port
from tests.e2e.test_two_processes import _call, _healthy, _wait_for

CONFIG = """
[jobs]
misfire_grace = 1.0

[[jobs.definitions]]
name = "heartbeat"
kind = "profile-event"
source = "demo"
interval = 0.4
event_type = "heartbeat"
"""


PROFILES = 3
TRACKS = 24  # per profile, spread over both API hosts


def test_two_api_hosts_and_a_background_host_lose_no_update(
    tmp_path: Path, redis_url: str, redis_prefix: str, osmem_url: str
) -> None:
    config = tmp_path / "config" / "tracardi.toml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    (config.parent / "resources").symlink_to(ROOT / "config" / "resources")
    env = {
        **os.environ,
        "TRACARDI_STORAGE_PATH": str(tmp_path / "data"),
        "TRACARDI_STORAGE_BACKEND": "opensearch",
        "TRACARDI_OPENSEARCH_HOSTS": osmem_url,
        "TRACARDI_OPENSEARCH_PREFIX": "scale",
        "TRACARDI_REDIS_URL": redis_url,
        "TRACARDI_REDIS_PREFIX": redis_prefix,
        "TRACARDI_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRACARDI_LOG_LEVEL": "warning",
        "TRACARDI_TRACKER_SYSTEM_EVENTS": "false",
    }
    base = [sys.executable, "-m", "tracardi", "--config", str(config), "--log-format", "json"]
    ports = [free_port(), free_port()]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        api = [*base, "--role", "api"]
        procs += [subprocess.Popen([*api, "--port", str(p)], cwd=ROOT, env=env, stderr=subprocess.PIPE) for p in ports]
        for port in ports:
            _wait_for(lambda p=port: _healthy(p), f"the API host on {port}")
        page_view = {"source": {"id": "demo"}, "events": [{"type": "page-view"}]}
        first = [_call(ports[i % 2], "POST", "/track", page_view) for i in range(PROFILES)]
        ids = [(t["profile"]["id"], t["session"]["id"]) for t in first]
        procs.append(subprocess.Popen([*base, "--role", "workers,jobs"], cwd=ROOT, env=env, stderr=subprocess.PIPE))

        def track(n: int) -> str:
            profile_id, session_id = ids[n % PROFILES]
            body = {**page_view, "profile": {"id": profile_id}, "session": {"id": session_id}}
            answer = _call(ports[n % 2], "POST", "/track", body)
            return str(answer["profile"]["id"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            answered = list(pool.map(track, range(PROFILES * TRACKS)))
        assert sorted(set(answered)) == sorted(p for p, _ in ids), "every track kept its profile"
        _wait_for(lambda: all(_heartbeats(ports[0], p) for p, _ in ids), "a heartbeat registered on every profile", 30)
        for profile_id, _ in ids:
            profile = _call(ports[1], "GET", f"/api/profiles/{profile_id}")
            assert profile["stats"]["views"] == TRACKS + 1, profile["stats"]
            assert profile["stats"]["visits"] == 1
            counts = _call(ports[0], "GET", f"/api/events/count-by-type?profile={profile_id}")["items"]
            assert {c["type"]: c["count"] for c in counts}["page-view"] == TRACKS + 1, counts
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err.decode()[-3000:]


def _heartbeats(port: int, profile_id: str) -> int:
    counts = _call(port, "GET", f"/api/events/count-by-type?profile={profile_id}&type=heartbeat")["items"]
    return sum(c["count"] for c in counts)
