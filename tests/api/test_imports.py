"""Imports over HTTP: start, progress, errors, list; broken, oversized and hostile input (path traversal)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Running
from tests.imports.conftest import burst
from tracardi.services import import_folder


def csv_spec(path: str, **kw: Any) -> dict[str, Any]:
    return {
        "source": {"kind": "csv", "path": path},
        "target": "profiles",
        "mapping": [{"source": "id", "target": "id"}],
        **kw,
    }


@pytest.fixture
def folder(server: Running) -> Path:
    return import_folder(server.services.settings)


async def test_start_progress_errors_and_list(server: Running, folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "people.csv").write_text("id,age\nu1,3\nu2,x\nu3,5\n")
    spec = csv_spec(
        "sub/people.csv",
        mapping=[{"source": "id", "target": "id"}, {"source": "age", "target": "traits.age", "type": "int"}],
    )
    r = await server.client.post("/api/imports", json=spec, headers=server.admin)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "queued" and started["size"] == 22
    await burst(server.services)
    r = await server.client.get(f"/api/imports/{started['id']}", headers=server.admin)
    body = r.json()
    assert (body["status"], body["read"], body["imported"], body["failed"]) == ("done", 3, 2, 1)
    r = await server.client.get(f"/api/imports/{started['id']}/errors", headers=server.admin)
    (error,) = r.json()["items"]
    assert error["line"] == 3 and error["error"].startswith("age: cannot convert to int") and error["row"]
    r = await server.client.get("/api/imports?limit=1", headers=server.admin)
    assert [i["id"] for i in r.json()["items"]] == [started["id"]]
    r = await server.client.get("/api/profiles/u3", headers=server.admin)
    assert r.json()["traits"] == {"age": 5}


async def test_files_outside_the_import_folder_are_refused(server: Running, folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("id\nstolen\n")
    os.symlink(secret, folder / "link.csv")
    (folder / "dir.csv").mkdir()
    hostile = [
        "../secret.csv",
        "../../secret.csv",
        str(secret),
        "/etc/passwd",
        "~/secret.csv",
        "sub/../../secret.csv",
        "link.csv",
        "dir.csv",
        "missing.csv",
        "a\x00b.csv",
        "",
        "x" * 5000,
        "/dev/zero",
    ]
    for path in hostile:
        r = await server.client.post("/api/imports", json=csv_spec(path), headers=server.admin)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["loc"] == ["body", "source", "path"], path
        assert str(folder) not in r.text, "the import folder's location is not revealed"
    r = await server.client.get("/api/imports", headers=server.admin)
    assert r.json()["items"] == [], "nothing was recorded or queued"
    assert (await server.services.queue.stats("import:worker")).depth == 0


def body(**kw: Any) -> bytes:
    return json.dumps({"source": {"kind": "csv", "path": "x.csv"}, "target": "profiles", **kw}).encode()


INDEX = {"kind": "index", "url": "http://127.0.0.1:9", "index": "../x"}


@pytest.mark.parametrize(
    ("content", "status", "loc"),
    [
        (b"{not json", 422, ["body"]),
        (b"\xff\xfe\x00", 422, ["body"]),
        (b"[" * 50_000, 422, ["body"]),
        (body(source={"kind": "ftp", "path": "x"}), 422, ["body", "source", "kind"]),
        (body(target="sessions"), 422, ["body", "target"]),
        (body(nope=1), 422, ["body", "nope"]),
        (body(mapping=[{"source": "a"}]), 422, ["body", "mapping", 0, "target"]),
        (body(mapping=[{"source": "a", "target": "id", "type": "eval"}]), 422, ["body", "mapping", 0, "type"]),
        (body(preset="nope"), 422, ["body", "preset"]),
        (
            body(target="events", mapping=[{"source": "a", "target": "type"}], track=True, source_id="nope"),
            422,
            ["body", "source_id"],
        ),
        (body(source=INDEX, preset="tracardi-profile"), 422, ["body", "source", "index"]),
        (body(pad="x" * 70_000), 413, ["body"]),
    ],
)
async def test_broken_and_oversized_specs(server: Running, content: bytes, status: int, loc: list[Any]) -> None:
    r = await server.client.post("/api/imports", content=content, headers=server.admin)
    assert r.status_code == status, r.text
    assert r.json()["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/imports/nope", 404),
        ("GET", "/api/imports/nope/errors", 404),
        ("GET", "/api/imports/" + "x" * 300, 422),
        ("GET", "/api/imports?limit=0", 422),
        ("GET", "/api/imports?after=garbage", 422),
        ("GET", "/api/imports/%00%FF", 404),
        ("POST", "/api/imports", 401),
        ("GET", "/api/imports", 401),
    ],
)
async def test_hostile_reads(server: Running, method: str, path: str, status: int) -> None:
    headers = {} if status == 401 else server.admin
    r = await server.client.request(method, path, headers=headers)
    assert r.status_code == status, r.text
    assert "detail" in r.json()
