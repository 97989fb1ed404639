"""Embedding: the example runs, and calling the tracker directly matches POST /track."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, Running, payload
from tracardi.domain.errors import InvalidInput, SourceRejected
from tracardi.embed import Tracardi


def test_the_embedding_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "embedded_saas.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("OK")


async def test_direct_track_gives_the_same_result_as_http(server: Running, make_settings) -> None:
    over_http = (await server.track(payload({"type": "page-view", "properties": {"a": 1}}, debug=True))).json()
    async with Tracardi(make_settings(storage={"path": str(Path(server.services.settings.storage.path) / "x")})) as cdp:
        direct = await cdp.track(payload({"type": "page-view", "properties": {"a": 1}}, debug=True))
        assert direct.response is not None
        assert set(over_http) == {"task", "ux", "response", "events", "profile", "session", "errors", "warnings"}
        assert len(direct.response.events) == len(over_http["events"]) == 4
        assert direct.profile is not None and direct.profile.stats.views == 1
        with pytest.raises(SourceRejected):
            await cdp.track(payload(source="nope"))
        with pytest.raises(InvalidInput):
            await cdp.track(payload({"type": " "}))
