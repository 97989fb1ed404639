"""An import survives its worker being killed with SIGKILL halfway: a second process finishes it, no row twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, free_port
from tests.imports.conftest import BAD_LINES, write_csv
from tracardi.domain.query import Exists
from tracardi.services import open_services
from tracardi.settings import load_settings
from tracardi.storage import PROFILES

TOKEN = "kill-test-token"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "tracardi.toml"
    path.write_text(
        f'[storage]\npath = "{tmp_path / "data"}"\n[admin]\ntoken = "{TOKEN}"\n[log]\nlevel = "warning"\n'
        '[workers.queues."import:worker"]\nvisibility = 1.5\npoll = 0.05\n'
    )
    return path


async def _start(config: Path, port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tracardi", "--role", "api,workers", "--config", str(config), "--port", str(port)),
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("TRACARDI_")},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return proc
            except httpx.TransportError:
                if proc.returncode is not None:
                    break
            await asyncio.sleep(0.1)
    proc.kill()
    _, err = await proc.communicate()
    raise AssertionError(f"server did not start: {err.decode()[-2000:]}")


async def _progress(client: httpx.AsyncClient, import_id: str) -> dict[str, Any]:
    r = await client.get(f"/api/imports/{import_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_kill_halfway_and_resume_imports_each_row_once(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "data" / "imports").mkdir(parents=True)
    write_csv(tmp_path / "data" / "imports" / "customers.csv")
    spec = {
        "source": {"kind": "csv", "path": "customers.csv"},
        "target": "profiles",
        "batch_size": 250,
        "rows_per_second": 3000,  # about 3.3 s, so the kill lands halfway
        # no id mapped: profile ids derive from the import id and the line, so a row imported twice would show
        "mapping": [
            {"source": "id", "target": "traits.customer"},
            {"source": "age", "target": "traits.age", "type": "int"},
        ],
    }
    port = free_port()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    proc = await _start(config, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            started = await client.post("/api/imports", json=spec)
            assert started.status_code == 202, started.text
            import_id = started.json()["id"]
            deadline = time.monotonic() + 60
            while (await _progress(client, import_id))["imported"] < 3_000:
                assert time.monotonic() < deadline, "the import did not progress"
                await asyncio.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        assert await proc.wait() == -signal.SIGKILL

    proc = await _start(config, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            at_restart = await _progress(client, import_id)
            assert at_restart["status"] == "running" and 3_000 <= at_restart["imported"] < 9_997
            deadline = time.monotonic() + 60
            while (done := await _progress(client, import_id))["status"] != "done":
                assert time.monotonic() < deadline, f"the import was not resumed: {done}"
                await asyncio.sleep(0.1)
            assert (done["read"], done["imported"], done["failed"]) == (10_000, 9_997, 3)
            errors = (await client.get(f"/api/imports/{import_id}/errors")).json()["items"]
            assert [e["line"] for e in errors] == list(BAD_LINES)
            listed = (await client.get("/api/imports")).json()["items"]
            assert [item["id"] for item in listed] == [import_id]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]

    async with open_services(load_settings(config, environ={})) as services:
        assert await services.store.count(PROFILES) == 9_997
        customers = set()
        async for page in services.store.scan(PROFILES, Exists(field="traits.customer")):
            customers.update(p.doc.traits["customer"] for p in page)
        assert len(customers) == 9_997
