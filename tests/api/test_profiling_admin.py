"""Admin API of profiling configuration: CRUD, and broken, oversized and hostile documents answered with a 4xx."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_TOKEN, CONFIG, Running, free_port, payload, start_server
from tracardi.services import open_services
from tracardi.settings import SettingsError, load_settings

PATHS = ("segments", "event-to-profile", "event-reshaping", "event-schemas")
SEGMENT = {"id": "vip", "name": "VIP Customers", "condition": "stats.visits > 3", "event_types": ["Page View"]}


async def test_profiling_admin_needs_the_token(server: Running) -> None:
    for path in (*PATHS, "merge-keys"):
        assert (await server.client.get(f"/api/{path}")).status_code == 401
    r = await server.client.put("/api/merge-keys", json={"keys": []}, headers={"authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_segment_crud(server: Running) -> None:
    admin = server.admin
    r = await server.client.post("/api/segments", json=SEGMENT, headers=admin)
    assert r.status_code == 201
    assert r.json()["event_types"] == ["page-view"]
    assert (await server.client.post("/api/segments", json=SEGMENT, headers=admin)).status_code == 200
    changed = {**SEGMENT, "condition": "stats.visits > 5"}
    del changed["id"]
    r = await server.client.put("/api/segments/VIP", json=changed, headers=admin)
    assert r.status_code == 200 and r.json()["id"] == "vip"
    assert (await server.client.get("/api/segments/vip", headers=admin)).json()["condition"] == "stats.visits > 5"
    listed = (await server.client.get("/api/segments?limit=5", headers=admin)).json()
    assert [s["id"] for s in listed["items"]] == ["vip"] and listed["next"] is None
    assert (await server.client.delete("/api/segments/vip", headers=admin)).status_code == 200
    assert (await server.client.get("/api/segments/vip", headers=admin)).status_code == 404
    assert (await server.client.delete("/api/segments/vip", headers=admin)).status_code == 404


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


MAPPING = {"id": "m", "event_type": "x", "mappings": [{"event": "properties.a", "profile": "traits.a"}]}
SCHEMA = {"id": "s", "event_type": "x", "schema": {"type": "object"}}
BAD: list[tuple[str, str, dict[str, Any], list[Any]]] = [
    ("typo", "segments", {**SEGMENT, "nmae": "x"}, ["body", "nmae"]),
    ("no id", "segments", {k: v for k, v in SEGMENT.items() if k != "id"}, ["body", "id"]),
    ("bad id", "segments", {**SEGMENT, "id": "no spaces"}, ["body", "id"]),
    ("id not a string", "segments", {**SEGMENT, "id": 5}, ["body", "id"]),
    ("empty name", "segments", {**SEGMENT, "name": "  "}, ["body", "name"]),
    ("broken condition", "segments", {**SEGMENT, "condition": "stats.visits >"}, ["body", "condition"]),
    ("empty condition", "segments", {**SEGMENT, "condition": ""}, ["body", "condition"]),
    ("huge condition", "segments", {**SEGMENT, "condition": "a == 1 OR " * 500 + "a == 1"}, ["body", "condition"]),
    ("nested condition", "segments", {**SEGMENT, "condition": "(" * 500 + "a == 1" + ")" * 500}, ["body", "condition"]),
    ("empty event type", "segments", {**SEGMENT, "event_types": ["ok", " "]}, ["body", "event_types", 1]),
    ("no mappings", "event-to-profile", {**MAPPING, "mappings": []}, ["body", "mappings"]),
    (
        "writes the id",
        "event-to-profile",
        {**MAPPING, "mappings": [{"event": "properties.a", "profile": "id"}]},
        ["body", "mappings", 0, "profile"],
    ),
    (
        "no such field",
        "event-to-profile",
        {**MAPPING, "mappings": [{"event": "properties.a", "profile": "data.contact.fax"}]},
        ["body", "mappings", 0, "profile"],
    ),
    (
        "reads the session",
        "event-to-profile",
        {**MAPPING, "mappings": [{"event": "session@id", "profile": "traits.a"}]},
        ["body", "mappings", 0, "event"],
    ),
    (
        "unknown op",
        "event-to-profile",
        {**MAPPING, "mappings": [{"event": "properties.a", "profile": "traits.a", "op": "multiply"}]},
        ["body", "mappings", 0, "op"],
    ),
    ("bad mapping condition", "event-to-profile", {**MAPPING, "condition": "a = = 1"}, ["body", "condition"]),
    ("long event type", "event-to-profile", {**MAPPING, "event_type": "x" * 200}, ["body", "event_type"]),
    ("reshapes nothing", "event-reshaping", {"id": "r", "event_type": "x"}, ["body", "copy"]),
    (
        "renames into the type",
        "event-reshaping",
        {"id": "r", "event_type": "x", "rename": {"properties.a": "type"}},
        ["body", "rename", "properties.a"],
    ),
    ("invalid schema", "event-schemas", {**SCHEMA, "schema": {"type": "strin"}}, ["body", "schema", "type"]),
    ("bad regex", "event-schemas", {**SCHEMA, "schema": {"pattern": "("}}, ["body", "schema", "pattern"]),
    (
        "remote ref",
        "event-schemas",
        {**SCHEMA, "schema": {"$ref": "http://169.254.169.254/"}},
        ["body", "schema", "$ref"],
    ),
    (
        "file ref",
        "event-schemas",
        {**SCHEMA, "schema": {"properties": {"a": {"$ref": "file:///etc/passwd"}}}},
        ["body", "schema", "properties", "a", "$ref"],
    ),
    ("deep schema", "event-schemas", {**SCHEMA, "schema": _deep(40)}, ["body", "schema"]),
    ("schema not an object", "event-schemas", {**SCHEMA, "schema": [1]}, ["body", "schema"]),
    ("bad path", "event-schemas", {**SCHEMA, "path": "nope@x"}, ["body", "path"]),
    ("merge key on the id", "merge-keys", {"keys": ["id"]}, ["body", "keys", 0]),
    ("merge keys not a list", "merge-keys", {"keys": "data.contact.email.main"}, ["body", "keys"]),
    ("too many merge keys", "merge-keys", {"keys": [f"traits.k{i}" for i in range(11)]}, ["body", "keys"]),
    ("body not an object", "segments", [SEGMENT], ["body"]),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("path", "body", "loc"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
async def test_bad_documents_get_422_naming_the_field(server: Running, path: str, body: Any, loc: list[Any]) -> None:
    method = server.client.put if path == "merge-keys" else server.client.post
    r = await method(f"/api/{path}", json=body, headers=server.admin)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] and r.json()["errors"][0]["loc"] == loc
    listed = await server.client.get(f"/api/{path}", headers=server.admin)
    assert listed.json() in ({"items": [], "next": None}, {"keys": []})


async def test_broken_oversized_and_mismatched_bodies(server: Running) -> None:
    admin = server.admin
    for path in PATHS:
        assert (await server.client.post(f"/api/{path}", content=b"{", headers=admin)).status_code == 422
        big = b'{"id": "x", "description": "' + b"d" * 200_000 + b'"}'
        assert (await server.client.post(f"/api/{path}", content=big, headers=admin)).status_code == 413
    r = await server.client.put("/api/segments/other", json=SEGMENT, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "id"]
    r = await server.client.put("/api/merge-keys", content=b"\xff\xfe", headers=admin)
    assert r.status_code == 422


RESOURCES = """
merge_keys = { keys = ["data.contact.email.main"] }

[[segments]]
id = "returning"
name = "Returning"
condition = "stats.visits > 1"

[[event_to_profile]]
id = "identify"
event_type = "identify"
mappings = [{ event = "properties.email", profile = "data.contact.email.main" }]

[[event_schemas]]
id = "identify"
event_type = "identify"
schema = { type = "object", required = ["email"] }

[[event_reshaping]]
id = "login"
event_type = "login"
type = "identify"
"""


def _config_dir(tmp_path: Path, resources: str) -> Path:
    folder = tmp_path / "conf"
    (folder / "resources").mkdir(parents=True)
    shutil.copy(CONFIG, folder / "tracardi.toml")
    shutil.copy(CONFIG.parent / "resources" / "sources.toml", folder / "resources" / "sources.toml")
    (folder / "resources" / "profiling.toml").write_text(resources)
    return folder / "tracardi.toml"


def _settings(config: Path, tmp_path: Path) -> Any:
    sections = {
        "storage": {"path": str(tmp_path / "data")},
        "admin": {"token": ADMIN_TOKEN},
        "api": {"port": free_port()},
    }
    return load_settings(config, environ={}, **sections)


async def test_resources_declared_in_files_are_loaded_at_start(tmp_path: Path) -> None:
    settings = _settings(_config_dir(tmp_path, RESOURCES), tmp_path)
    async for server in start_server(settings):
        admin = server.admin
        for path, doc_id in (("segments", "returning"), ("event-to-profile", "identify"), ("event-reshaping", "login")):
            assert (await server.client.get(f"/api/{path}/{doc_id}", headers=admin)).status_code == 200
        merge_keys = await server.client.get("/api/merge-keys", headers=admin)
        assert merge_keys.json() == {"keys": ["data.contact.email.main"]}
        r = await server.track(payload({"type": "identify", "properties": {}}))
        assert r.status_code == 406 and r.json()["errors"][0]["loc"] == ["body", "events", 0, "properties", "email"]
        r = await server.track(payload({"type": "login", "properties": {"email": "x@example.com"}}))
        profile = await server.client.get(f"/api/profiles/{r.json()['profile']['id']}", headers=admin)
        assert profile.json()["data"]["contact"]["email"]["main"] == "x@example.com"


@pytest.mark.parametrize(
    ("resources", "named"),
    [
        ('[[segments]]\nid = "s"\nname = "S"\ncondition = "visits >"\n', "condition"),
        ('[[segments]]\nid = "s"\nname = "S"\ncondition = "a == 1"\ncolour = "red"\n', "colour"),
        ("merge_keys = { keys = ['metadata.time'] }\n", "keys.0"),
        ("[[rules]]\nid = 'r'\n", "rules"),
    ],
)
async def test_a_bad_resource_file_stops_the_start_naming_it(tmp_path: Path, resources: str, named: str) -> None:
    settings = _settings(_config_dir(tmp_path, resources), tmp_path)
    with pytest.raises(SettingsError, match=r"profiling\.toml") as caught:
        async with open_services(settings):
            pass
    assert named in str(caught.value)
