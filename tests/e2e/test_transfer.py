"""``python -m tracardi export`` / ``import``: documents tracked on the embedded store move to OpenSearch (osmem)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SettingsFactory, payload, start_server
from tracardi.storage import EVENTS, PROFILES, SESSIONS
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.opensearch import OpenSearchDocumentStore, OpenSearchOptions


async def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tracardi", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_export_from_embedded_then_import_into_opensearch(
    make_settings: SettingsFactory, osmem_url: str, tmp_path: Path
) -> None:
    settings = make_settings()
    async for running in start_server(settings):
        first = (await running.track(payload())).json()
        ids = {"profile": {"id": first["profile"]["id"]}, "session": {"id": first["session"]["id"]}}
        await running.track(payload({"type": "purchase", "properties": {"sku": "x"}}, **ids))
    dump = tmp_path / "dump.jsonl"
    exported = await _cli("export", str(dump), env={"TRACARDI_STORAGE_PATH": settings.storage.path})
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert {line["index"] for line in lines} >= {"profile", "session", "event", "source"}

    target = {"TRACARDI_STORAGE_BACKEND": "opensearch", "TRACARDI_OPENSEARCH_HOSTS": osmem_url}
    imported = await _cli("import", str(dump), env={**target, "TRACARDI_STORAGE_PATH": str(tmp_path / "os")})
    assert imported.returncode == 0, imported.stderr
    store = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url), ALL_INDICES)
    try:
        for index in (PROFILES, SESSIONS, EVENTS):
            assert await store.count(index) == sum(1 for line in lines if line["index"] == index.name)
        profile = await store.get(PROFILES, first["profile"]["id"])
        assert profile is not None and profile.doc.stats.views == 1
    finally:
        await store.close()
    again = await _cli("import", str(dump), env={**target, "TRACARDI_STORAGE_PATH": str(tmp_path / "os")})
    assert again.returncode == 0, again.stderr  # re-running an import is harmless


async def test_import_of_a_bad_line_names_it(tmp_path: Path) -> None:
    dump = tmp_path / "bad.jsonl"
    dump.write_text('{"index": "profile", "id": "p1", "doc": {"id": "p1"}}\nnot json\n')
    result = await _cli("import", str(dump), env={"TRACARDI_STORAGE_PATH": str(tmp_path / "data")})
    assert result.returncode == 1 and "line 2" in result.stderr


async def test_migrate_command_on_both_adapters(osmem_url: str, tmp_path: Path) -> None:
    embedded = {"TRACARDI_STORAGE_PATH": str(tmp_path / "data")}
    result = await _cli("migrate", "up", env=embedded)
    assert result.returncode == 0 and "profile -> doc_profile" in result.stdout, result.stderr
    cluster = {**embedded, "TRACARDI_STORAGE_BACKEND": "opensearch", "TRACARDI_OPENSEARCH_HOSTS": osmem_url}
    # nothing created yet: every index but the monthly events reports no version
    unversioned = len([i for i in ALL_INDICES if i.name != "event"])
    assert (await _cli("migrate", "status", env=cluster)).stdout.count("-> None") == unversioned
    result = await _cli("migrate", "up", env=cluster)
    assert result.returncode == 0, result.stderr
    assert "tracardi.profile -> tracardi.profile.v1 (0 documents): up to date" in result.stdout
    result = await _cli("migrate", "up", env={**cluster, "TRACARDI_OPENSEARCH_SORTABLE": "any"})
    assert "tracardi.profile -> tracardi.profile.v2" in result.stdout, result.stderr
    result = await _cli("migrate", "cleanup", env=cluster)
    assert "deleted tracardi.profile.v1" in result.stdout, result.stderr
