"""Profiling configuration: its administration, and the cached compiled snapshot the collector reads per call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tracardi.domain.identity import MergeKeys
from tracardi.domain.mapping import EventToProfile
from tracardi.domain.reshape import EventReshaping
from tracardi.domain.segment import Segment
from tracardi.domain.validation import EventSchema
from tracardi.engine._stored import delete_or_missing, get_or_missing
from tracardi.engine.profiling._checks import (
    check_event_schema,
    check_mapping,
    check_merge_keys,
    check_reshaping,
    check_segment,
)
from tracardi.engine.profiling._config import ProfilingConfig, build_config
from tracardi.storage import (
    EVENT_RESHAPING,
    EVENT_SCHEMAS,
    EVENT_TO_PROFILE,
    MERGE_KEYS,
    SEGMENTS,
    DocumentStore,
    Index,
    Page,
)

T = TypeVar("T", Segment, EventToProfile, EventReshaping, EventSchema)
MERGE_KEYS_ID = "default"
MAX_DOCS = 1000
"""Most documents of one kind the collector loads (configuration, not data)."""


class Kind(Generic[T]):
    """A kind of profiling document: where it is stored, what it is called, how it is checked."""

    def __init__(self, title: str, index: Index[T], check: Callable[[T], T]) -> None:
        self.title = title
        self.index: Index[T] = index
        self.check: Callable[[T], T] = check


SEGMENT = Kind("Segment", SEGMENTS, check_segment)
MAPPING = Kind("Event-to-profile mapping", EVENT_TO_PROFILE, check_mapping)
RESHAPING = Kind("Event reshaping", EVENT_RESHAPING, check_reshaping)
SCHEMA = Kind("Event schema", EVENT_SCHEMAS, check_event_schema)


class ProfilingService:
    """CRUD of segments, mappings, reshapings, event schemas and merge keys, and the collector's cached snapshot.

    A change made here is seen by this process's next /track; other hosts see it after at most ``ttl`` seconds.
    The snapshot is reloaded by one caller at a time, so an expired cache never becomes a burst of reads.
    """

    def __init__(self, store: DocumentStore, *, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._config = ProfilingConfig()
        self._expires = float("-inf")
        self._loading = asyncio.Lock()

    async def config(self) -> ProfilingConfig:
        """The current compiled configuration (cached)."""
        if self._expires > self._clock():
            return self._config
        async with self._loading:
            if self._expires <= self._clock():
                started = self._clock()
                self._config = await self._load()
                self._expires = started + self._ttl
        return self._config

    def invalidate(self) -> None:
        self._expires = float("-inf")

    async def _load(self) -> ProfilingConfig:
        merge_keys = await self._store.get(MERGE_KEYS, MERGE_KEYS_ID)
        return build_config(
            await self._all(EVENT_SCHEMAS),
            await self._all(EVENT_RESHAPING),
            await self._all(EVENT_TO_PROFILE),
            await self._all(SEGMENTS),
            merge_keys.doc if merge_keys else None,
        )

    async def _all(self, index: Index[Any]) -> list[Any]:
        page = await self._store.query(index, None, limit=MAX_DOCS)
        return [item.doc for item in page.items]

    async def save(self, kind: Kind[T], doc: T) -> T:
        """Check and create or replace a document; raises InvalidInput naming the field."""
        doc = kind.check(doc)
        await self._store.put(kind.index, doc.id, doc)
        self.invalidate()
        return doc

    async def find(self, kind: Kind[T], doc_id: str) -> T | None:
        found = await self._store.get(kind.index, doc_id.strip().lower())
        return found.doc if found else None

    async def get(self, kind: Kind[T], doc_id: str) -> T:
        return await get_or_missing(self._store, kind.index, doc_id.strip().lower(), f"{kind.title} `{doc_id}`")

    async def delete(self, kind: Kind[T], doc_id: str) -> None:
        await delete_or_missing(self._store, kind.index, doc_id.strip().lower(), f"{kind.title} `{doc_id}`")
        self.invalidate()

    async def list(self, kind: Kind[T], *, limit: int = 100, after: str | None = None) -> Page[T]:
        """One page of documents in id order."""
        return await self._store.query(kind.index, None, limit=limit, after=after)

    async def merge_keys(self) -> MergeKeys:
        found = await self._store.get(MERGE_KEYS, MERGE_KEYS_ID)
        return found.doc if found else MergeKeys()

    async def set_merge_keys(self, keys: MergeKeys) -> MergeKeys:
        keys = check_merge_keys(keys)
        await self._store.put(MERGE_KEYS, MERGE_KEYS_ID, keys)
        self.invalidate()
        return keys
