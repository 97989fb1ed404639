"""Reading and deleting stored profiles, sessions and events for the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracardi.domain import tql
from tracardi.domain.errors import NotFoundError
from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.domain.query import And, Condition, Eq, In, Range, Sort
from tracardi.domain.session import Session
from tracardi.engine._stored import delete_or_missing, get_or_missing
from tracardi.engine.profiles import find_profile
from tracardi.storage import EVENTS, PROFILES, SESSIONS, DocumentStore, Index, Interval, Page, TermBucket, TimeBucket

EVENT_TIME = "metadata.time.insert"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which stored events a statistic counts: of a source, a profile, a type, inserted in ``[since, until)``."""

    source_id: str | None = None
    profile_id: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def condition(self) -> Condition:
        parts: list[Condition] = []
        for field, value in (("source.id", self.source_id), ("profile.id", self.profile_id), ("type", self.event_type)):
            if value:
                parts.append(Eq(field=field, value=value))
        if self.since or self.until:
            parts.append(Range(field=EVENT_TIME, gte=self.since, lt=self.until))
        return And(items=tuple(parts))


class RecordService:
    """Get, list (newest first, paged) and delete profiles, sessions and events."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    async def profile(self, profile_id: str) -> Profile:
        """The profile with this id, or the one it was merged into."""
        found = await find_profile(self._store, profile_id)
        if found is None:
            raise NotFoundError(f"Profile `{profile_id}` not found.")
        return found.doc

    async def session(self, session_id: str) -> Session:
        return await get_or_missing(self._store, SESSIONS, session_id, f"Session `{session_id}`")

    async def event(self, event_id: str) -> Event:
        return await get_or_missing(self._store, EVENTS, event_id, f"Event `{event_id}`")

    async def delete(self, kind: str, doc_id: str) -> None:
        indices: dict[str, Index[Any]] = {"profile": PROFILES, "session": SESSIONS, "event": EVENTS}
        await delete_or_missing(self._store, indices[kind], doc_id, f"{kind.capitalize()} `{doc_id}`")

    async def profiles(self, *, limit: int, after: str | None) -> Page[Profile]:
        return await self._store.query(PROFILES, None, sort=_newest("metadata.time.insert"), limit=limit, after=after)

    async def search_profiles(self, where: str, *, limit: int, after: str | None) -> Page[Profile]:
        """Profiles matching a TQL condition over profile fields, newest first.

        Raises TqlSyntaxError for text that is not a condition, TqlNotQueryable for one that reads another entity
        or compares two fields.
        """
        condition = tql.to_query(tql.parse(where), entity="profile")
        return await self._store.query(
            PROFILES, condition, sort=_newest("metadata.time.insert"), limit=limit, after=after
        )

    async def _of_profile(self, profile_id: str) -> Condition:
        """Documents of the profile under any of its ids (those merged into it included)."""
        found = await find_profile(self._store, profile_id)
        ids = tuple(found.doc.ids or (found.doc.id,)) if found else (profile_id,)
        return In(field="profile.id", values=ids) if len(ids) > 1 else Eq(field="profile.id", value=ids[0])

    async def sessions_of(self, profile_id: str, *, limit: int, after: str | None) -> Page[Session]:
        where = await self._of_profile(profile_id)
        return await self._store.query(SESSIONS, where, sort=_newest("metadata.time.insert"), limit=limit, after=after)

    async def events_of(
        self,
        *,
        profile_id: str | None = None,
        session_id: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        limit: int,
        after: str | None,
    ) -> Page[Event]:
        """Events of a profile (under any of its ids) and/or session, newest first."""
        parts: list[Condition] = []
        if profile_id:
            parts.append(await self._of_profile(profile_id))
        if session_id:
            parts.append(Eq(field="session.id", value=session_id))
        if event_type:
            parts.append(Eq(field="type", value=event_type))
        if since:
            parts.append(Range(field="metadata.time.insert", gte=since))

        where = And(items=tuple(parts))
        return await self._store.query(EVENTS, where, sort=_newest("metadata.time.insert"), limit=limit, after=after)

    async def event_types(self, which: EventFilter, *, limit: int) -> list[TermBucket]:
        """The most frequent event types among the events ``which`` selects, most frequent first."""
        return await self._store.terms(EVENTS, "type", which.condition(), size=limit)

    async def event_histogram(
        self, which: EventFilter, *, interval: Interval, since: datetime, until: datetime
    ) -> list[TimeBucket]:
        """How many events ``which`` selects were inserted in each interval of ``[since, until)``."""
        return await self._store.date_histogram(
            EVENTS, EVENT_TIME, which.condition(), interval=interval, since=since, until=until
        )


def _newest(field: str) -> tuple[Sort, ...]:
    return (Sort(field=field, desc=True),)
