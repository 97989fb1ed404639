"""Resources declared as files under the config folder (``config/resources/*.toml``), applied at every start.

A deployment can keep its sources, rules, flows, segments, mappings, reshapings, event schemas, merge keys and live
segments in git; each is created or replaced under its id when the process starts, through the same checks as the
admin API (live segments after every file's flows, so they may name a flow of any file).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from tracardi.domain.errors import InvalidInput
from tracardi.domain.flow import Flow, Rule
from tracardi.domain.identity import MergeKeys
from tracardi.domain.live_segment import LiveSegment
from tracardi.domain.mapping import EventToProfile
from tracardi.domain.reshape import EventReshaping
from tracardi.domain.segment import Segment
from tracardi.domain.source import EventSource
from tracardi.domain.validation import EventSchema
from tracardi.engine.profiling import MAPPING, RESHAPING, SCHEMA, SEGMENT, ProfilingService
from tracardi.engine.segmentation import LiveSegmentService
from tracardi.engine.workflow import FlowService
from tracardi.log import get_logger
from tracardi.settings import Settings, SettingsError


class Resources(msgspec.Struct, forbid_unknown_fields=True):
    """What files under ``<config dir>/<resources>/`` may declare; each file may hold any of the tables."""

    sources: list[EventSource] = []
    rules: list[Rule] = []
    flows: list[Flow] = []
    segments: list[Segment] = []
    event_to_profile: list[EventToProfile] = []
    event_reshaping: list[EventReshaping] = []
    event_schemas: list[EventSchema] = []
    merge_keys: MergeKeys | None = None
    live_segments: list[LiveSegment] = []


def declared_resources(settings: Settings) -> list[tuple[Path, Resources]]:
    """The resources declared in ``<config dir>/<resources>/*.toml``, file by file (``[[sources]]`` tables, ...)."""
    if not settings.config_dir:
        return []
    folder = Path(settings.config_dir) / settings.runtime.resources
    found: list[tuple[Path, Resources]] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
            found.append((path, msgspec.convert(data, Resources, strict=False)))
        except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
            raise SettingsError(f"resource file {path}: {exc}") from exc
    return found


log = get_logger("runtime")


async def declare_flows(flows: FlowService, path: Path, res: Resources) -> None:
    """Create or replace the flows, then the rules, of one resource file (validated as the admin API does)."""
    now = datetime.now(UTC)
    try:
        for flow in res.flows:
            await flows.save_flow(flow, now)
            log.info("flow_declared", flow_id=flow.id, enabled=flow.enabled)
        for rule in res.rules:
            await flows.save_rule(rule, now)
            log.info("rule_declared", rule_id=rule.id, flow_id=rule.flow.id)
    except InvalidInput as exc:
        raise SettingsError(f"resource file {path}: {exc.detail} ({_where(exc)})") from exc


async def declare_profiling(profiling: ProfilingService, path: Path, res: Resources) -> None:
    """Create or replace the profiling documents of one resource file; a bad one stops the start naming it."""
    try:
        for segment in res.segments:
            await profiling.save(SEGMENT, segment)
        for mapping in res.event_to_profile:
            await profiling.save(MAPPING, mapping)
        for reshaping in res.event_reshaping:
            await profiling.save(RESHAPING, reshaping)
        for schema in res.event_schemas:
            await profiling.save(SCHEMA, schema)
        if res.merge_keys is not None:
            await profiling.set_merge_keys(res.merge_keys)
    except InvalidInput as exc:
        raise SettingsError(f"resource file {path}: {exc.detail} ({_where(exc)})") from exc


async def declare_live_segments(service: LiveSegmentService, path: Path, res: Resources) -> None:
    """Create or replace the live segments of one resource file (after the flows they name)."""
    try:
        for live in res.live_segments:
            await service.save(live)
            log.info("live_segment_declared", live_segment=live.id, enabled=live.enabled)
    except InvalidInput as exc:
        raise SettingsError(f"resource file {path}: {exc.detail} ({_where(exc)})") from exc


def _where(exc: InvalidInput) -> str:
    return "; ".join(f"{'.'.join(map(str, e.loc[1:]))}: {e.msg}" for e in exc.errors)
