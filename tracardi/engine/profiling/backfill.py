"""Copy stored events into their profiles by the current event-to-profile mappings (the
``event_to_profile_coping:worker`` task): for a mapping added after the events came in.

The events are read page by page in insert order; the events of one profile on a page are applied together with
the collector's own mapping code (``map_to_profile``), under the profile's lock, and the profile is written only
if it changed, expecting the version it read (a conflict reads it again and re-applies). Mapping conditions see
the event and the profile, not the session (``session@`` paths are empty here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from tracardi.domain import tql
from tracardi.domain.event import Event
from tracardi.domain.messages import CopyEventsToProfiles
from tracardi.domain.query import And, Condition
from tracardi.engine.profiles import find_profile
from tracardi.engine.profiling._config import ProfilingConfig
from tracardi.engine.profiling._enrich import map_to_profile
from tracardi.engine.profiling.service import ProfilingService
from tracardi.engine.traits import events_where
from tracardi.log import get_logger
from tracardi.storage import EVENTS, PROFILES, DocumentStore, Locks, VersionConflict

log = get_logger("profiling")
Progress = Callable[[int, int, int], Awaitable[None]]
"""Called after each page with (events in total, events done, profiles changed)."""
PAGE = 500


def copy_where(message: CopyEventsToProfiles) -> Condition:
    """The events a copy task reads: its type and time range, and its TQL ``where`` (InvalidInput when bad)."""
    where = events_where(message.event_type, message.since, message.until)
    expr = message.events()
    return where if expr is None else And(items=(where, tql.to_query(expr, "event")))


class EventsToProfiles:
    """Applies the current mappings to stored events, profile by profile."""

    def __init__(
        self,
        store: DocumentStore,
        profiling: ProfilingService,
        locks: Locks,
        clock: Callable[[], datetime],
        *,
        attempts: int = 5,
    ) -> None:
        self._store = store
        self._profiling = profiling
        self._locks = locks
        self._clock = clock
        self._attempts = attempts

    async def copy(self, where: Condition, progress: Progress) -> int:
        """Apply the mappings to every event matching ``where``; how many profile writes changed a profile."""
        config = await self._profiling.config()
        total = await self._store.count(EVENTS, where)
        done = changed = 0
        await progress(total, done, changed)
        async for page in self._store.scan(EVENTS, where, page_size=PAGE):
            by_profile: dict[str, list[Event]] = {}
            for item in page:
                event = item.doc
                if event.profile is not None and config.mappings.get(event.type):
                    by_profile.setdefault(event.profile.id, []).append(event)
            for profile_id, events in by_profile.items():
                events.sort(key=lambda e: (e.metadata.time.insert or e.metadata.time.create or self._clock(), e.id))
                if await self._apply(config, profile_id, events):
                    changed += 1
            done += len(page)
            await progress(total, done, changed)
        return changed

    async def _apply(self, config: ProfilingConfig, profile_id: str, events: list[Event]) -> bool:
        found = await find_profile(self._store, profile_id)  # follows a merge to the surviving profile
        if found is None:
            return False
        target = found.doc.id
        async with self._locks.hold(f"profile:{target}"):
            for attempt in range(1, self._attempts + 1):
                stored = await self._store.get(PROFILES, target)
                if stored is None:
                    return False
                profile, changed = stored.doc, False
                for event in events:
                    changed = map_to_profile(config, event, profile, None) or changed
                if not changed:
                    return False
                profile.metadata.time.update = self._clock()
                try:
                    await self._store.put(PROFILES, target, profile, if_version=stored.version)
                    return True
                except VersionConflict:
                    if attempt == self._attempts:
                        raise
                    log.info("event_copy_conflict", profile_id=target, attempt=attempt)
        return False
