"""The profiling configuration as the collector uses it: every document compiled once, grouped by event type."""

from __future__ import annotations

from dataclasses import dataclass, field

from jsonschema.protocols import Validator

from tracardi.domain.identity import MergeKeys
from tracardi.domain.mapping import EventToProfile
from tracardi.domain.reshape import EventReshaping
from tracardi.domain.segment import Segment
from tracardi.domain.validation import EventSchema
from tracardi.engine.profiling._conditions import Condition, compiled
from tracardi.engine.profiling._schemas import compile_schema


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    doc: EventSchema
    validator: Validator


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    doc: EventToProfile
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class CompiledSegment:
    doc: Segment
    name: str
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class ProfilingConfig:
    """One consistent snapshot of the enabled configuration, keyed by event type."""

    schemas: dict[str, list[CompiledSchema]] = field(default_factory=dict)
    reshapings: dict[str, list[EventReshaping]] = field(default_factory=dict)
    mappings: dict[str, list[CompiledMapping]] = field(default_factory=dict)
    segments_by_type: dict[str, list[CompiledSegment]] = field(default_factory=dict)
    segments_always: list[CompiledSegment] = field(default_factory=list)
    merge_keys: list[str] = field(default_factory=list)

    @property
    def enriches(self) -> bool:
        """Whether anything runs before the flows (validation, reshaping, mapping)."""
        return bool(self.schemas or self.reshapings or self.mappings)

    @property
    def resolves(self) -> bool:
        """Whether anything runs after the flows (merge keys, segments)."""
        return bool(self.merge_keys or self.segments_by_type or self.segments_always)

    def segments_for(self, event_types: set[str]) -> list[CompiledSegment]:
        """The segments to re-check after events of these types, each once."""
        found = {id(s): s for t in event_types for s in self.segments_by_type.get(t, ())}
        return [*self.segments_always, *found.values()]


def build_config(
    schemas: list[EventSchema],
    reshapings: list[EventReshaping],
    mappings: list[EventToProfile],
    segments: list[Segment],
    merge_keys: MergeKeys | None,
) -> ProfilingConfig:
    """Compile the enabled documents (checked when they were saved)."""
    config = ProfilingConfig(merge_keys=list(merge_keys.keys) if merge_keys else [])
    for schema in schemas:
        if schema.enabled:
            config.schemas.setdefault(schema.event_type, []).append(
                CompiledSchema(schema, compile_schema(schema.schema))
            )
    # a reshaping for the event's source is preferred to one for any source
    for reshaping in sorted(reshapings, key=lambda r: (not r.source_id, r.id)):
        if reshaping.enabled:
            config.reshapings.setdefault(reshaping.event_type, []).append(reshaping)
    for mapping in sorted(mappings, key=lambda m: m.id):
        if mapping.enabled:
            config.mappings.setdefault(mapping.event_type, []).append(
                CompiledMapping(mapping, compiled(mapping.condition, "event"))
            )
    _add_segments(config, segments)
    return config


def _add_segments(config: ProfilingConfig, segments: list[Segment]) -> None:
    for segment in sorted(segments, key=lambda s: s.id):
        if not segment.enabled:
            continue
        item = CompiledSegment(segment, segment.machine_name, compiled(segment.condition, "profile"))
        if not segment.event_types:
            config.segments_always.append(item)
        for etype in segment.event_types:
            config.segments_by_type.setdefault(etype, []).append(item)
