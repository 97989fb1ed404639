"""The document kinds the product stores, with the fields every adapter indexes."""

from __future__ import annotations

from tracardi.domain.event import Event
from tracardi.domain.flow import Flow, FlowTrace, Rule
from tracardi.domain.identity import TOKENS_FIELD, MergeKeys
from tracardi.domain.imports import ImportRecord, RowError
from tracardi.domain.jobs import JobRun
from tracardi.domain.live_segment import LiveSegment
from tracardi.domain.mapping import EventToProfile
from tracardi.domain.profile import Profile
from tracardi.domain.reshape import EventReshaping
from tracardi.domain.segment import Segment
from tracardi.domain.session import Session
from tracardi.domain.source import EventSource
from tracardi.domain.tasks import TaskProgress
from tracardi.domain.validation import EventSchema
from tracardi.storage.ports import Index

PROFILES: Index[Profile] = Index(
    "profile",
    Profile,
    fields=("metadata.time.insert", "metadata.time.update"),
    # merge-key tokens: finding the profiles that share an email is one indexed lookup
    multi=("ids", "segments", TOKENS_FIELD),
    cached=True,
)
SESSIONS: Index[Session] = Index("session", Session, fields=("profile.id", "metadata.time.insert"), cached=True)
EVENTS: Index[Event] = Index(
    "event",
    Event,
    # every indexed field costs each event insert a random index page: only what the product queries by
    fields=("profile.id", "session.id", "metadata.time.insert"),
)
SOURCES: Index[EventSource] = Index("source", EventSource, fields=("name",))

JOB_RUNS: Index[JobRun] = Index("job-run", JobRun, fields=("name", "started"))

TASKS: Index[TaskProgress] = Index("task", TaskProgress, fields=("started",))

IMPORTS: Index[ImportRecord] = Index("import", ImportRecord, fields=("created",))
IMPORT_ERRORS: Index[RowError] = Index("import-error", RowError, fields=("import_id", "line"))

RULES: Index[Rule] = Index("rule", Rule, fields=("name",))
FLOWS: Index[Flow] = Index("flow", Flow, fields=("name",))
FLOW_TRACES: Index[FlowTrace] = Index("flow-trace", FlowTrace, fields=("event_id", "time"))

# profiling configuration (read by the collector through a cache, written by the admin API)
SEGMENTS: Index[Segment] = Index("segment", Segment, fields=("name",))
EVENT_TO_PROFILE: Index[EventToProfile] = Index("event-to-profile", EventToProfile, fields=("event_type",))
EVENT_RESHAPING: Index[EventReshaping] = Index("event-reshaping", EventReshaping, fields=("event_type",))
EVENT_SCHEMAS: Index[EventSchema] = Index("event-schema", EventSchema, fields=("event_type",))
MERGE_KEYS: Index[MergeKeys] = Index("merge-keys", MergeKeys)
LIVE_SEGMENTS: Index[LiveSegment] = Index("live-segment", LiveSegment, fields=("name",))

ALL_INDICES = (
    PROFILES,
    SESSIONS,
    EVENTS,
    SOURCES,
    JOB_RUNS,
    TASKS,
    SEGMENTS,
    EVENT_TO_PROFILE,
    EVENT_RESHAPING,
    EVENT_SCHEMAS,
    MERGE_KEYS,
    LIVE_SEGMENTS,
    RULES,
    FLOWS,
    FLOW_TRACES,
    IMPORTS,
    IMPORT_ERRORS,
)
