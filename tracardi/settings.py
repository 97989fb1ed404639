"""Settings: ``config/tracardi.toml`` defaults, overridden by ``TRACARDI_<SECTION>_<KEY>`` environment variables.

Loaded once by the runtime and validated by msgspec into one frozen Settings struct; an unknown or ill-typed key
stops the start with a message that names it. Nothing else reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from tracardi.api import ApiOptions
from tracardi.bridges import BridgesOptions
from tracardi.engine import ImportsOptions, JobsOptions, TrackerOptions
from tracardi.engine.profiling import ProfilingOptions
from tracardi.engine.workflow import WorkflowOptions
from tracardi.secret import Secret
from tracardi.storage.opensearch import OpenSearchOptions
from tracardi.workers import WorkersOptions

DEFAULT_CONFIG = Path("config/tracardi.toml")
ENV_PREFIX = "TRACARDI_"
# variables of the test and bench harnesses, not settings
_ENV_IGNORED = ("TRACARDI_TEST_", "TRACARDI_BENCH_")


class SettingsError(Exception):
    """The configuration cannot be used; the message names the key."""


class StorageOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where documents live (section ``[storage]``)."""

    backend: str = "embedded"
    """``embedded`` (a SQLite file in ``path``) or ``opensearch`` (a cluster, section ``[opensearch]``)."""
    path: str = "data"
    """Data folder: the database file and the generated admin token live here."""
    synchronous: str = "FULL"
    """SQLite durability: FULL syncs every group commit to disk before answering; NORMAL trades that for speed."""
    cache_size: int = 100_000
    """Profiles and sessions kept decoded-ready in memory by the embedded store."""


class AdminOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Admin API access (section ``[admin]``)."""

    token: Secret = msgspec.field(default_factory=lambda: Secret(""))
    """Bearer token of the admin API; empty: one is generated at first start and kept in the data folder."""


class LogOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Logging (section ``[log]``)."""

    format: str = "console"
    """``console`` for people, ``json`` for log collectors."""
    level: str = "info"
    """debug, info, warning or error."""


class RedisOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Redis for queues, caches and locks across hosts (section ``[redis]``); empty url: embedded defaults."""

    url: str = ""
    """e.g. ``redis://127.0.0.1:6379/0``; set: queues, leases and merge locks live in Redis, else in this process
    and the embedded store."""
    prefix: str = "tracardi:"
    """Prefix of every key, so deployments (and tests) can share one Redis."""
    lock_ttl: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """Seconds after which a lock a crashed host held in Redis frees itself; far above a hold (a profile merge)."""


class RuntimeOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Process behaviour (section ``[runtime]``)."""

    drain_timeout: float = 10.0
    """Seconds to finish in-flight work on SIGTERM/SIGINT before cancelling it."""
    resources: str = "resources"
    """Folder of declared resources (sources, rules, flows), relative to the config file's folder."""
    gc_threshold: int = 20_000
    """Allocations between young-generation garbage collections once started (0: Python's default of 700).

    At start the process freezes what it has built (modules, compiled rules, caches) out of the collector's sight;
    with that and a larger first threshold, collection stops costing a sixth of the /track time."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting of the product."""

    api: ApiOptions = msgspec.field(default_factory=ApiOptions)
    tracker: TrackerOptions = msgspec.field(default_factory=TrackerOptions)
    storage: StorageOptions = msgspec.field(default_factory=StorageOptions)
    admin: AdminOptions = msgspec.field(default_factory=AdminOptions)
    log: LogOptions = msgspec.field(default_factory=LogOptions)
    redis: RedisOptions = msgspec.field(default_factory=RedisOptions)
    opensearch: OpenSearchOptions = msgspec.field(default_factory=OpenSearchOptions)
    runtime: RuntimeOptions = msgspec.field(default_factory=RuntimeOptions)
    workers: WorkersOptions = msgspec.field(default_factory=WorkersOptions)
    jobs: JobsOptions = msgspec.field(default_factory=JobsOptions)
    bridges: BridgesOptions = msgspec.field(default_factory=BridgesOptions)
    workflows: WorkflowOptions = msgspec.field(default_factory=WorkflowOptions)
    profiling: ProfilingOptions = msgspec.field(default_factory=ProfilingOptions)
    imports: ImportsOptions = msgspec.field(default_factory=ImportsOptions)
    config_dir: str = ""
    """Folder of the config file that was loaded (set by the loader)."""


def _dec_hook(kind: type, obj: Any) -> Any:
    if kind is Secret and isinstance(obj, str):
        return Secret(obj)
    raise NotImplementedError(f"cannot read {kind.__name__}")


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    sections = set(Settings.__struct_fields__) - {"config_dir"}
    out: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name.startswith(_ENV_IGNORED):
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section not in sections or not key:
            raise SettingsError(f"unknown setting {name}: sections are {sorted(sections)} (TRACARDI_<SECTION>_<KEY>)")
        out.setdefault(section, {})[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc


def load_settings(
    config: str | Path | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read the config file (``config/tracardi.toml`` when present and none is named), apply the environment, check.

    ``overrides`` are section dicts applied last (used by ``--port``, ``--log-format`` and by embedders).
    """
    environ = os.environ if environ is None else environ
    path = Path(config) if config else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    data: dict[str, Any] = _read_toml(path) if path else {}
    for section, values in [*_env_overrides(environ).items(), *overrides.items()]:
        current = data.setdefault(section, {})
        if not isinstance(current, dict):
            raise SettingsError(f"setting `{section}` must be a table")
        current.update(values)
    data["config_dir"] = str(path.parent) if path else ""
    where = f" (file {path})" if path else ""
    try:
        settings = msgspec.convert(data, Settings, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}{where}") from exc
    for spec in settings.jobs.definitions:
        problem = spec.check()
        if problem:
            raise SettingsError(f"invalid setting jobs.definitions: {problem}{where}")
    return settings
