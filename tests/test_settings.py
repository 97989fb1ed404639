"""Settings: the shipped file, environment overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CONFIG
from tracardi.settings import SettingsError, load_settings


def test_shipped_config_loads_with_documented_defaults() -> None:
    s = load_settings(CONFIG, environ={})
    assert s.api.port == 8686 and s.storage.backend == "embedded" and s.api.max_body_bytes == 1_048_576


def test_environment_overrides_the_file() -> None:
    s = load_settings(
        CONFIG,
        environ={"TRACARDI_API_PORT": "9001", "TRACARDI_STORAGE_PATH": "/tmp/x", "TRACARDI_TEST_REDIS_URL": "ignored"},
    )
    assert s.api.port == 9001 and s.storage.path == "/tmp/x"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TRACARDI_API_PROT": "1"}, "prot"),
        ({"TRACARDI_API_PORT": "eighty"}, "$.api.port"),
        ({"TRACARDI_NOPE_X": "1"}, "TRACARDI_NOPE_X"),
        ({"TRACARDI_TRACKER_MAX_EVENTS": "many"}, "$.tracker.max_events"),
    ],
)
def test_bad_environment_stops_with_the_key_named(environ: dict, named: str) -> None:
    with pytest.raises(SettingsError, match=named.replace("$", r"\$")):
        load_settings(CONFIG, environ=environ)


def test_bad_file_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[api]\nport = 1\nmax_body = 3\n")
    with pytest.raises(SettingsError, match="max_body"):
        load_settings(path, environ={})
    path.write_text("[api\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(path, environ={})


def test_secret_token_is_masked_in_repr() -> None:
    s = load_settings(CONFIG, environ={"TRACARDI_ADMIN_TOKEN": "hunter2"})
    assert "hunter2" not in repr(s) and s.admin.token.reveal() == "hunter2"


def test_opensearch_section_is_read_with_secrets_masked() -> None:
    s = load_settings(
        CONFIG,
        environ={
            "TRACARDI_STORAGE_BACKEND": "opensearch",
            "TRACARDI_OPENSEARCH_HOSTS": "https://a:9200,https://b:9200",
            "TRACARDI_OPENSEARCH_PASSWORD": "hunter2",
            "TRACARDI_OPENSEARCH_MAX_RETRIES": "5",
        },
    )
    assert s.storage.backend == "opensearch" and s.opensearch.hosts == "https://a:9200,https://b:9200"
    assert s.opensearch.max_retries == 5 and s.opensearch.password.reveal() == "hunter2"
    assert "hunter2" not in repr(s)
    with pytest.raises(SettingsError, match="refresh"):
        load_settings(CONFIG, environ={"TRACARDI_OPENSEARCH_REFRESH": "sometimes"})
