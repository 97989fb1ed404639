"""``python -m tracardi import-data`` as an operator runs it: progress, bad rows, bad arguments, kill and resume."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.imports.conftest import write_csv
from tracardi import log as logging_setup
from tracardi.import_cli import import_main
from tracardi.services import open_services
from tracardi.settings import load_settings
from tracardi.storage import EVENTS, PROFILES


def _env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACARDI_")}
    return {**clean, "TRACARDI_STORAGE_PATH": str(tmp_path / "data"), "TRACARDI_LOG_LEVEL": "error"}


async def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tracardi", "import-data", *args],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _count(tmp_path: Path, index: object) -> int:
    settings = load_settings(environ={}, storage={"path": str(tmp_path / "data")}, log={"level": "error"})
    async with open_services(settings) as services:
        return await services.store.count(index)  # type: ignore[arg-type]


async def test_csv_with_a_mapping_file_prints_progress_and_bad_rows(tmp_path: Path) -> None:
    write_csv(tmp_path / "c.csv", rows=2_000, bad=(11, 1_500))
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"id": "id", "age": "traits.age:int", "vip": "traits.vip:bool"}))
    done = await _cli(tmp_path, "--file", str(tmp_path / "c.csv"), "--target", "profiles", "--mapping", str(mapping))
    assert done.returncode == 0, done.stderr
    assert "started (resume with --id" in done.stderr and "read 2,000, imported 1,998, failed 2 (100%)" in done.stderr
    assert "done; read 2,000 rows, imported 1,998, failed 2" in done.stdout
    assert "  line 11: 2 fields, the header has 4" in done.stdout and "  line 1500: age: cannot convert" in done.stdout
    assert await _count(tmp_path, PROFILES) == 1_998


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "profiles", "--map", "a=id"], "give a source"),
        (["--file", "x.csv", "--map", "a=id"], "--target profiles|events is required"),
        (["--file", "x.csv", "--target", "profiles", "--map", "a"], "expected SOURCE=PATH"),
        (["--file", "x.csv", "--target", "profiles", "--map", "a=id:eval"], "unknown type 'eval'"),
        (["--file", "x.csv", "--target", "profiles", "--map", "a=data.pii.nmae"], "data.pii has no field 'nmae'"),
        (["--file", "missing.csv", "--target", "profiles", "--map", "a=id"], "no file"),
        (["--file", "x.csv", "--target", "profiles"], "at least one entry (or a preset)"),
        (["--file", "x.csv", "--target", "profiles", "--map", "a=id", "--batch-size", "0"], "from 1 to 10000"),
        (["--file", "x.csv", "--target", "profiles", "--mapping", "missing.json"], "--mapping missing.json"),
        (["--index-url", "http://127.0.0.1:9", "--target", "profiles", "--preset", "tracardi-profile"], "--index NAME"),
        (["--file", "x.csv", "--target", "sessions"], "invalid choice: 'sessions'"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """In this process (the command's parsing and checks; the tests above run it as a real process)."""
    monkeypatch.setenv("TRACARDI_STORAGE_PATH", str(tmp_path / "data"))
    # the command points the log at its stderr, here capsys's, which closes after the test: keep the session's log
    monkeypatch.setattr(logging_setup, "configure", lambda *args, **kwargs: None)
    (tmp_path / "x.csv").write_text("a\n1\n")
    try:
        code = import_main(["import-data", *(a.replace("x.csv", str(tmp_path / "x.csv")) for a in args)])
    except SystemExit as exited:  # argparse's own errors
        code = exited.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err


async def test_killed_and_resumed_with_the_same_id_imports_no_row_twice(tmp_path: Path) -> None:
    rows = [json.dumps({"type": "page-view", "n": n, "who": f"p{n % 50}"}) for n in range(3_000)]
    (tmp_path / "ev.jsonl").write_text("\n".join(rows) + "\n")
    args = ["--file", str(tmp_path / "ev.jsonl"), "--target", "events", "--map", "type=type", "--map", "n=properties.n"]
    args += ["--map", "who=profile.id", "--batch-size", "100", "--rows-per-second", "1500", "--id", "ev-1"]
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tracardi", "import-data", *args),
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    while b"read 1," not in (line := await asyncio.wait_for(proc.stderr.readline(), 60)):
        assert line, "the import ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL
    resumed = await _cli(tmp_path, *args)
    assert resumed.returncode == 0, resumed.stderr
    assert "ev-1: resuming (running) after line" in resumed.stderr
    assert "done; read 3,000 rows, imported 3,000, failed 0" in resumed.stdout
    assert await _count(tmp_path, EVENTS) == 3_000
    again = await _cli(tmp_path, *args)  # a finished import is only reported
    assert again.returncode == 0 and "imported 3,000" in again.stdout
    assert await _count(tmp_path, EVENTS) == 3_000
