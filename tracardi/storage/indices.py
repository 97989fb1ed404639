"""The document kinds the product stores, with the fields every adapter indexes."""

from __future__ import annotations

from tracardi.domain.event import Event
from tracardi.domain.imports import ImportRecord, RowError
from tracardi.domain.jobs import JobRun
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session
from tracardi.domain.source import EventSource
from tracardi.domain.tasks import TaskProgress
from tracardi.storage.ports import Index

PROFILES: Index[Profile] = Index(
    "profile",
    Profile,
    fields=("metadata.time.insert", "metadata.time.update"),
    multi=("ids", "segments"),
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

ALL_INDICES = (PROFILES, SESSIONS, EVENTS, SOURCES, JOB_RUNS, TASKS, IMPORTS, IMPORT_ERRORS)
