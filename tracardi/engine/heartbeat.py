"""Heartbeat work: end idle visits, register a periodic event for profiles; every event goes through the tracker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tracardi.domain.payload import EventPayload, OptionalRef, SourceRef, TrackerPayload
from tracardi.domain.query import And, Condition, Eq, Range, Sort
from tracardi.domain.session import Session
from tracardi.engine.tracking import Tracker
from tracardi.log import get_logger
from tracardi.storage import EVENTS, PROFILES, SESSIONS, DocumentStore, VersionConflict

log = get_logger("jobs")


class Heartbeat:
    """The heartbeat jobs' engine side."""

    def __init__(self, store: DocumentStore, tracker: Tracker, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._tracker = tracker
        self._clock = clock

    async def end_idle_visits(self, source: str, idle: float, errors: list[str]) -> int:
        """Track ``visit-ended`` for each started session idle longer than ``idle`` seconds; how many ended."""
        cutoff = self._clock() - timedelta(seconds=idle)
        where = And(
            items=(Eq(field="metadata.status", value="started"), Range(field="metadata.time.update", lt=cutoff))
        )
        ended = 0
        async for page in self._store.scan(SESSIONS, where, page_size=200):
            for stored in page:
                if await self._end_visit(source, stored.doc, stored.version, errors):
                    ended += 1
        return ended

    async def _end_visit(self, source: str, session: Session, version: int, errors: list[str]) -> bool:
        profile = OptionalRef(id=session.profile.id) if session.profile else None
        payload = TrackerPayload(
            source=SourceRef(id=source),
            session=OptionalRef(id=session.id),
            profile=profile,
            events=[EventPayload(type="visit-ended", properties={"idle-seconds-after": True})],
        )
        try:
            await self._tracker.track(payload, profile_less=profile is None)
        except Exception as exc:  # noqa: BLE001 - one session's failure is recorded and the run goes on
            errors.append(f"session {session.id}: {type(exc).__name__}: {exc}"[:500])
            return False
        current = await self._store.get(SESSIONS, session.id)
        if current is None:
            return True
        current.doc.metadata.status = "ended"
        try:
            await self._store.put(SESSIONS, session.id, current.doc, if_version=current.version)
        except VersionConflict:
            log.info("visit_end_raced", session_id=session.id)  # a new event came in: the next run looks again
        return True

    async def mark_inactive_sessions(
        self, source: str, event_type: str, *, idle: float, window: float, errors: list[str]
    ) -> int:
        """Track ``event_type`` once for each session last updated between ``window`` and ``idle`` seconds ago.

        A session that already has such an event since its last update is skipped, so repeated or overlapping
        runs register it once; new activity on the session makes it qualify again later.
        """
        now = self._clock()
        where = Range(
            field="metadata.time.update", gte=now - timedelta(seconds=window), lt=now - timedelta(seconds=idle)
        )
        touched = 0
        async for page in self._store.scan(SESSIONS, where, page_size=200):
            for stored in page:
                session = stored.doc
                if await self._already_marked(session, event_type):
                    continue
                profile = OptionalRef(id=session.profile.id) if session.profile else None
                payload = TrackerPayload(
                    source=SourceRef(id=source),
                    session=OptionalRef(id=session.id),
                    profile=profile,
                    events=[EventPayload(type=event_type)],
                )
                try:
                    await self._tracker.track(payload, profile_less=profile is None)
                    touched += 1
                except Exception as exc:  # noqa: BLE001 - one session's failure is recorded and the run goes on
                    errors.append(f"session {session.id}: {type(exc).__name__}: {exc}"[:500])
        return touched

    async def _already_marked(self, session: Session, event_type: str) -> bool:
        since = session.metadata.time.update or session.metadata.time.insert
        where: Condition = And(
            items=(
                Eq(field="session.id", value=session.id),
                Eq(field="type", value=event_type),
                Range(field="metadata.time.insert", gte=since),
            )
        )
        return await self._store.count(EVENTS, where) > 0

    async def profile_event(self, source: str, event_type: str, where: Condition, errors: list[str]) -> int:
        """Track ``event_type`` for every profile matching ``where``, in its latest session."""
        touched = 0
        async for page in self._store.scan(PROFILES, where, page_size=200):
            for stored in page:
                try:
                    await self._profile_event(source, event_type, stored.doc.id)
                    touched += 1
                except Exception as exc:  # noqa: BLE001 - one profile's failure is recorded and the run goes on
                    errors.append(f"profile {stored.doc.id}: {type(exc).__name__}: {exc}"[:500])
        return touched

    async def _profile_event(self, source: str, event_type: str, profile_id: str) -> None:
        latest = await self._store.query(
            SESSIONS,
            Eq(field="profile.id", value=profile_id),
            sort=[Sort(field="metadata.time.insert", desc=True)],
            limit=1,
        )
        session = OptionalRef(id=latest.items[0].doc.id) if latest.items else None
        payload = TrackerPayload(
            source=SourceRef(id=source),
            session=session,
            profile=OptionalRef(id=profile_id),
            events=[EventPayload(type=event_type)],
            options=None if session else {"saveSession": False},
        )
        await self._tracker.track(payload)
