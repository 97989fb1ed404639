"""Event sources: the cached lookup the collector does on every call, and their administration."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from tracardi.domain.errors import FieldError, InvalidInput, SourceRejected
from tracardi.domain.query import Sort
from tracardi.domain.source import SOURCE_TYPES, EventSource
from tracardi.engine._stored import delete_or_missing, get_or_missing
from tracardi.storage import SOURCES, DocumentStore, Page


class SourceService:
    """Reads sources through a short-lived in-process cache; every change here invalidates it.

    Other hosts see a change after at most ``ttl`` seconds (Tracardi's SOURCE_CACHE_TTL, default 2 s).
    Unknown ids are cached too, briefly, so a flood of bad ids does not become a flood of reads.
    """

    def __init__(self, store: DocumentStore, *, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, EventSource | None]] = {}

    async def find(self, source_id: str) -> EventSource | None:
        """The source with this id, or None."""
        now = self._clock()
        hit = self._cache.get(source_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await self._store.get(SOURCES, source_id)
        source = found.doc if found else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[source_id] = (now + self._ttl, source)
        return source

    async def authorize(self, source_id: str, endpoint_type: str) -> EventSource:
        """The enabled source that may be used on this endpoint; SourceRejected otherwise."""
        if source_id.startswith("@"):
            raise SourceRejected("Internal event sources are not allowed via API.")
        source = await self.find(source_id)
        if source is None:
            raise SourceRejected(f"Invalid event source `{source_id}`.")
        if not source.enabled:
            raise SourceRejected("Event source disabled.")
        if not source.allows(endpoint_type):
            raise SourceRejected(
                f"This endpoint allows only sources of type ['{endpoint_type}'], "
                f"but the event source `{source_id}` has types {source.type}."
            )
        return source

    async def save(self, source: EventSource) -> EventSource:
        """Create or replace a source (ids are lower-cased and types checked, as Tracardi does)."""
        source = normalize_source(source)
        await self._store.put(SOURCES, source.id, source)
        self._cache.pop(source.id, None)
        return source

    async def get(self, source_id: str) -> EventSource:
        return await get_or_missing(self._store, SOURCES, source_id.strip().lower(), f"Event source `{source_id}`")

    async def delete(self, source_id: str) -> None:
        source_id = source_id.strip().lower()
        await delete_or_missing(self._store, SOURCES, source_id, f"Event source `{source_id}`")
        self._cache.pop(source_id, None)

    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[EventSource]:
        return await self._store.query(SOURCES, None, sort=(Sort(field="name"),), limit=limit, after=after)


def normalize_source(source: EventSource) -> EventSource:
    """Lower-case and trim the id and check the types; raises InvalidInput naming the field."""
    source_id = source.id.strip().lower()
    if not source_id:
        raise InvalidInput("Event source id can not be empty.", [FieldError(("body", "id"), "must not be empty")])
    if source_id.startswith("@"):
        raise InvalidInput("Ids starting with @ are reserved.", [FieldError(("body", "id"), "must not start with @")])
    unknown = [t for t in source.type if t not in SOURCE_TYPES]
    if unknown or not source.type:
        raise InvalidInput(
            f"Unknown source type {unknown}; allowed: {sorted(SOURCE_TYPES)}.",
            [FieldError(("body", "type"), f"must be a non-empty list of {sorted(SOURCE_TYPES)}")],
        )
    return msgspec.structs.replace(source, id=source_id, name=source.name or source_id)
