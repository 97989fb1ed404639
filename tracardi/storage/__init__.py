"""Storage ports and errors: what the engine and the entry points may import from storage."""

from tracardi.storage.errors import InvalidQuery, NotFound, StorageError, Unavailable, VersionConflict
from tracardi.storage.indices import EVENTS, JOB_RUNS, PROFILES, SESSIONS, SOURCES, TASKS
from tracardi.storage.ports import (
    DeadLetter,
    Delete,
    DocumentStore,
    Index,
    Job,
    Leases,
    Locks,
    Page,
    Put,
    Queue,
    QueueStats,
    Versioned,
    WriteOp,
    WriteResult,
)

__all__ = [
    "EVENTS",
    "JOB_RUNS",
    "PROFILES",
    "SESSIONS",
    "SOURCES",
    "TASKS",
    "DeadLetter",
    "Delete",
    "DocumentStore",
    "Index",
    "InvalidQuery",
    "Job",
    "Leases",
    "Locks",
    "NotFound",
    "Page",
    "Put",
    "Queue",
    "QueueStats",
    "StorageError",
    "Unavailable",
    "VersionConflict",
    "Versioned",
    "WriteOp",
    "WriteResult",
]
