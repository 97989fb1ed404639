"""The command line as an operator uses it: start, track, SIGTERM with a clean drain, restart with data kept."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, free_port


def _start(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracardi", "--role", "all", "--port", str(port), "--log-format", "json", *args],
        cwd=ROOT,
        env={**os.environ, "TRACARDI_STORAGE_PATH": str(tmp_path / "data"), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def _post(port: int, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _get(port: int, path: str, token: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_start_track_sigterm_restart(tmp_path: Path) -> None:
    proc, port = _start(tmp_path)
    first = _post(port, "/track", {"source": {"id": "demo"}, "events": [{"type": "page-view"}]})
    with contextlib.suppress(urllib.error.HTTPError):
        _post(port, "/track", {"source": {"id": "no-such-source"}, "events": [{"type": "page-view"}]})
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    logs = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    events = [entry["event"] for entry in logs]
    assert "admin_token_generated" in events and "stopped" in events
    # at level info only the refused request has a request line: a line per accepted event would flood the log
    assert [(e["path"], e["status"]) for e in logs if e["event"] == "request"] == [("/track", 401)]
    token = (tmp_path / "data" / "admin-token").read_text().strip()
    assert token and token not in err.decode()  # the token's location is logged, never the token
    proc, port = _start(tmp_path)
    try:
        profile = _get(port, f"/api/profiles/{first['profile']['id']}", token)
        assert profile["stats"]["views"] == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_in_flight_requests_finish_on_sigterm(tmp_path: Path) -> None:
    """Requests sent just before SIGTERM are answered and stored; the process exits 0."""
    import concurrent.futures

    proc, port = _start(tmp_path)
    body = {"source": {"id": "demo"}, "events": [{"type": "page-view"}] * 50, "debug": True}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(_post, port, "/track", body) for _ in range(40)]
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        answered = []
        for f in futures:
            # a request sent after the listener closed is refused (OSError), never half-accepted
            with contextlib.suppress(OSError):
                answered.append(f.result(timeout=30))
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert answered, "no request finished"
    proc, port = _start(tmp_path)
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        for result in answered:
            _get(port, f"/api/events/{result['events'][0]}", token)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_bad_setting_stops_the_start_naming_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tracardi", "--role", "api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "TRACARDI_API_PORT": "http"},
    )
    assert done.returncode == 2 and "$.api.port" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "tracardi", "--role", "api,cooking"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "cooking" in done.stderr
