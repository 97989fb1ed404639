"""Storage ports and errors: what the engine and the entry points may import from storage."""

from tracardi.storage.errors import InvalidQuery, NotFound, StorageError, Unavailable, VersionConflict
from tracardi.storage.indices import EVENTS, PROFILES, SESSIONS, SOURCES
from tracardi.storage.ports import Delete, DocumentStore, Index, Locks, Page, Put, Versioned, WriteOp, WriteResult

__all__ = [
    "EVENTS",
    "PROFILES",
    "SESSIONS",
    "SOURCES",
    "Delete",
    "DocumentStore",
    "Index",
    "InvalidQuery",
    "Locks",
    "NotFound",
    "Page",
    "Put",
    "StorageError",
    "Unavailable",
    "VersionConflict",
    "Versioned",
    "WriteOp",
    "WriteResult",
]
