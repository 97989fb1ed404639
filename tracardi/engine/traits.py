"""Copy stored events' properties to their traits (the ``event_props_to_event_traits`` work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from tracardi.domain import dotpath
from tracardi.domain.event import Event
from tracardi.domain.query import And, Condition, Eq, Range
from tracardi.storage import EVENTS, DocumentStore, Put


def copy_props(event: Event, fields: dict[str, str]) -> bool:
    """Apply ``fields`` (property path -> trait path; ``"*"`` copies every top-level property); True if changed."""
    changed = False
    for source, target in (fields or {"*": "*"}).items():
        if source == "*":
            for key, value in event.properties.items():
                if event.traits.get(key, dotpath.MISSING) != value:
                    event.traits[key] = value
                    changed = True
            continue
        value = dotpath.get(event.properties, source)
        if value is dotpath.MISSING:
            continue
        if dotpath.get(event.traits, target) != value:
            dotpath.set(event.traits, target, value)
            changed = True
    return changed


async def copy_props_to_traits(store: DocumentStore, event_ids: list[str], fields: dict[str, str]) -> int:
    """Copy per ``fields`` on each stored event; how many changed. Idempotent: a repeat changes nothing.

    Raises VersionConflict when an event changed meanwhile (the job is retried).
    """
    found = await store.get_many(EVENTS, event_ids)
    ops: list[Put[Any]] = [
        Put(EVENTS, stored.doc.id, stored.doc, if_version=stored.version)
        for stored in found
        if copy_props(stored.doc, fields)
    ]
    if not ops:
        return 0
    results = await store.bulk(ops)
    for result in results:
        if result.error is not None:
            raise result.error
    return len(ops)


def events_where(event_type: str, since: datetime | None, until: datetime | None) -> Condition:
    """Events of a type (empty: any) inserted in [since, until)."""
    items: list[Condition] = []
    if event_type:
        items.append(Eq(field="type", value=event_type))
    if since is not None or until is not None:
        items.append(Range(field="metadata.time.insert", gte=since, lt=until))
    return And(items=tuple(items))


Progress = Callable[[int, int, int], Awaitable[None]]
"""Called after each page with (total, done, changed)."""


async def copy_props_where(store: DocumentStore, where: Condition, fields: dict[str, str], progress: Progress) -> int:
    """Copy per ``fields`` on every matching stored event, page by page; how many changed."""
    total = await store.count(EVENTS, where)
    done = changed = 0
    await progress(total, done, changed)
    async for page in store.scan(EVENTS, where, page_size=500):
        changed += await copy_props_to_traits(store, [item.doc.id for item in page], fields)
        done += len(page)
        await progress(total, done, changed)
    return changed
