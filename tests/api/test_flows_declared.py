"""Rules and flows declared in resource files under the config folder: created at start, run like saved ones;
a declared flow that does not validate stops the start with a message naming the node."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import CONFIG, Running, free_port, payload, start_server
from tracardi.services import open_services
from tracardi.settings import Settings, SettingsError, load_settings

FLOWS_TOML = """
[[flows]]
id = "welcome"
name = "Welcome"

[[flows.flowGraph.nodes]]
id = "start"
action = "start"

[[flows.flowGraph.nodes]]
id = "tag"
action = "set-data"
config = { set = { "profile@traits.welcomed" = true } }

[[flows.flowGraph.edges]]
source = "start"
target = "tag"

[[rules]]
id = "welcome-on-page-view"
event_type = { id = "page-view" }
source = { id = "demo" }
flow = { id = "welcome" }
"""


def _settings(tmp_path: Path, flows_toml: str, **sections: dict) -> Settings:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG.parent, folder)
    (folder / "resources" / "flows.toml").write_text(flows_toml)
    base = {"storage": {"path": str(tmp_path / "data")}, "admin": {"token": "test-admin-token"}}
    base["api"] = sections.get("api", {})
    return load_settings(folder / "tracardi.toml", environ={}, **base)


async def test_declared_rules_and_flows_are_loaded_at_start_and_run(tmp_path: Path) -> None:

    async for server in start_server(_settings(tmp_path, FLOWS_TOML, api={"port": free_port()})):
        await _check(server)


async def _check(server: Running) -> None:
    flow = await server.client.get("/api/flows/welcome", headers=server.admin)
    assert flow.status_code == 200 and flow.json()["name"] == "Welcome"
    rule = await server.client.get("/api/rules/welcome-on-page-view", headers=server.admin)
    assert rule.status_code == 200
    r = await server.track(payload())
    profile = await server.client.get(f"/api/profiles/{r.json()['profile']['id']}", headers=server.admin)
    assert profile.json()["traits"] == {"welcomed": True}


async def test_a_declared_flow_that_does_not_validate_stops_the_start(tmp_path: Path) -> None:
    broken = FLOWS_TOML.replace('action = "set-data"', 'action = "set-date"')
    with pytest.raises(SettingsError, match="set-date") as info:
        async with open_services(_settings(tmp_path, broken)):
            pass
    assert "nodes.1.action" in str(info.value)
