"""The /track pipeline: source check, session and profile, events, statistics, one durable write.

Steps (DESIGN.md "The tracking pipeline"): decode (done by the caller), authorize the source, lock and load the
session and profile (following merged ids), compute the visit, build the events, persist everything in one bulk
write with optimistic concurrency (retried on conflict), and answer in Tracardi's shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from tracardi.domain.common import PrimaryEntity
from tracardi.domain.event import Event
from tracardi.domain.payload import IdRef, TrackerPayload, TrackResponse
from tracardi.domain.profile import Profile, new_profile
from tracardi.domain.session import Session, new_session
from tracardi.domain.source import EventSource
from tracardi.engine._events import EventFactory, system_events
from tracardi.engine._validate import check_payload
from tracardi.engine._visit import fill_new_session, merge_context, take_utm, timezone_of, user_agent_of
from tracardi.engine.ids import IdFactory, RepeatedIds
from tracardi.engine.profiles import find_profile
from tracardi.engine.profiling import Profiler, ProfilingService
from tracardi.engine.sources import SourceService
from tracardi.engine.useragent import parse_user_agent
from tracardi.engine.workflow import EffectKey, FlowsOutcome, Workflows
from tracardi.metrics import Metrics
from tracardi.storage import (
    EVENTS,
    FLOW_TRACES,
    PROFILES,
    SESSIONS,
    DocumentStore,
    Locks,
    Put,
    VersionConflict,
    Versioned,
)


class TrackerOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the collector pipeline (section ``[tracker]``)."""

    max_events: int = 100
    """Most events one payload may carry."""
    max_depth: int = 32
    """Deepest nesting allowed in properties and context."""
    system_events: bool = True
    """Emit profile-created, visit-started and session-opened."""
    debug: bool = True
    """Allow clients to ask for the stored event ids (payload ``debug`` or ``options.debugger``)."""
    source_cache_ttl: float = 2.0
    """Seconds a source lookup is cached in process."""
    max_retries: int = 8
    """Attempts when a concurrent writer on another host changed the profile or session first."""


class RequestInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the transport knows about the call: client ip, headers (secrets removed), user agent."""

    ip: str | None = None
    headers: dict[str, str] = {}
    user_agent: str = ""


class TrackResult(msgspec.Struct, kw_only=True):
    """The outcome of one tracking call: the response (None for an empty event list) and what was built."""

    response: TrackResponse | None
    profile: Profile | None = None
    session: Session | None = None
    events: list[Event] = []


class _Flags(msgspec.Struct, frozen=True, kw_only=True):
    profile_less: bool
    save_session: bool
    save_events: bool
    save_profile: bool
    debug: bool
    static_profile: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Tracker:
    """Collects tracker payloads into profiles, sessions and events."""

    def __init__(
        self,
        store: DocumentStore,
        sources: SourceService,
        locks: Locks,
        *,
        options: TrackerOptions | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _utcnow,
        new_id: Callable[[], str] | None = None,
        workflows: Workflows | None = None,
        profiler: Profiler | None = None,
    ) -> None:
        self._store = store
        self._profiler = profiler or Profiler(ProfilingService(store), store, locks)
        self._sources = sources
        self._locks = locks
        self._options = options or TrackerOptions()
        self._metrics = metrics or Metrics()
        self._clock = clock
        ids = IdFactory()
        self._new_id = new_id or ids
        self._event_id: Callable[[datetime], str] = ids.time_ordered
        self._accepted: dict[str, Any] = {}
        self._workflows = workflows

    async def warm_up(self) -> None:
        """Compile the user-agent rules off the loop, so the first visitor does not wait for them."""
        await asyncio.to_thread(parse_user_agent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")

    async def track(
        self,
        payload: TrackerPayload,
        request: RequestInfo | None = None,
        *,
        endpoint: str = "rest",
        profile_less: bool = False,
        raw: bytes | None = None,
    ) -> TrackResult:
        """Track a payload as ``/track`` does; raises InvalidInput or SourceRejected before writing anything.

        ``raw``, the body the payload was decoded from when there was one, lets cheap checks skip work.
        """
        opts = self._options
        check_payload(payload, max_events=opts.max_events, max_depth=opts.max_depth, raw=raw)
        source = await self._sources.authorize(payload.source.id.strip().lower(), endpoint)
        if not payload.events:
            return TrackResult(response=None)
        flags = self._flags(payload, source, profile_less)
        request = request or RequestInfo()
        session_id = ((payload.session.id if payload.session else None) or "").strip()
        if not session_id:
            return await self._attempts(payload, source, request, flags, session_id)
        async with self._locks.hold(f"session:{session_id}"):
            return await self._attempts(payload, source, request, flags, session_id)

    async def _attempts(
        self, payload: TrackerPayload, source: EventSource, request: RequestInfo, flags: _Flags, session_id: str
    ) -> TrackResult:
        # what every attempt repeats: the event ids, and the outcome of the flows' calls outside (webhooks)
        event_ids = RepeatedIds(self._event_id)
        effects: dict[EffectKey, Any] = {}
        for _ in range(self._options.max_retries - 1):
            try:
                return await self._attempt(payload, source, request, flags, session_id, event_ids, effects)
            except VersionConflict:
                self._metrics.write_conflicts.inc()
                event_ids.restart()
        return await self._attempt(payload, source, request, flags, session_id, event_ids, effects)

    def _flags(self, payload: TrackerPayload, source: EventSource, profile_less: bool) -> _Flags:
        transitional = source.transitional
        debug = self._options.debug and (payload.debug or payload.option("debugger", False))
        return _Flags(
            profile_less=profile_less,
            save_session=payload.option("saveSession", True) and not transitional,
            save_events=payload.option("saveEvents", True) and not transitional,
            save_profile=payload.option("saveProfile", True) and not profile_less,
            debug=debug,
            static_profile=source.static_profile_id,
        )

    async def _attempt(
        self,
        payload: TrackerPayload,
        source: EventSource,
        request: RequestInfo,
        flags: _Flags,
        session_id: str,
        event_ids: RepeatedIds,
        effects: dict[EffectKey, Any],
    ) -> TrackResult:
        stored_session = await self._store.get(SESSIONS, session_id) if session_id else None
        profile_id = self._profile_id_to_load(payload, stored_session, flags)
        call = _Call(self, payload, source, request, flags, event_ids, effects)
        if not profile_id:
            return await call.run(session_id, stored_session, None)
        async with self._locks.hold(f"profile:{profile_id}"):
            return await call.run(session_id, stored_session, await find_profile(self._store, profile_id))

    def _profile_id_to_load(
        self, payload: TrackerPayload, stored_session: Versioned[Session] | None, flags: _Flags
    ) -> str | None:
        if flags.profile_less:
            return None
        sent = ((payload.profile.id if payload.profile else None) or "").strip()
        bound = stored_session.doc.profile.id if stored_session and stored_session.doc.profile else ""
        if flags.static_profile:
            return sent or bound or None
        return bound or sent or None


class _Call:
    """The mutable state of one tracking attempt (kept out of the Tracker so attempts never share it)."""

    def __init__(
        self,
        tracker: Tracker,
        payload: TrackerPayload,
        source: EventSource,
        request: RequestInfo,
        flags: _Flags,
        event_ids: RepeatedIds,
        effects: dict[EffectKey, Any],
    ) -> None:
        self.t = tracker
        self.event_ids = event_ids
        self.effects = effects
        self.payload = payload
        self.source = source
        self.request = request
        self.flags = flags
        self.now = tracker._clock()
        self.context: dict[str, Any] = dict(payload.context or {})

    async def run(
        self, session_id: str, stored_session: Versioned[Session] | None, stored_profile: Versioned[Profile] | None
    ) -> TrackResult:
        profile, profile_new = self._profile(stored_profile)
        session, session_new = self._session(session_id, stored_session, profile)
        session_changed = self._update_session(session, session_new, profile)
        profile_changed = self._update_profile(profile, session_new) if profile else False
        events = self._events(session, profile, profile_new, session_new)
        tracked = events[: len(self.payload.events)]
        profiler = self.t._profiler
        profile_changed = await profiler.before_flows(tracked, profile, session, self.now) or profile_changed
        flows = await self._run_flows(events, profile, session)
        if flows is not None:
            profile, session = flows.profile, flows.session or session
            profile_changed, session_changed = (
                profile_changed or flows.profile_changed,
                session_changed or flows.session_changed,
            )
        # merge keys and segments; merge locks are held, and merged-away profiles deleted, around the write
        saved_profile = profile if self.flags.save_profile else None
        async with profiler.after_flows(tracked, saved_profile, session, self.now) as resolved:
            ops: list[Put[Any]] = []
            if profile is not None and self.flags.save_profile and (profile_new or profile_changed or resolved):
                ops.append(_put(PROFILES, profile, stored_profile, profile_new))
            if self.flags.save_session and (session_new or session_changed):
                ops.append(_put(SESSIONS, session, stored_session, stored_session is None))
            stored = [e for e in events if e.config.get("save", True) is not False] if self.flags.save_events else []
            ops.extend(Put(EVENTS, e.id, e) for e in stored)
            if flows is not None:
                ops.extend(Put(FLOW_TRACES, t.id, t) for t in flows.traces)
            created = profile if profile_new and ops and ops[0].index is PROFILES else None
            await self._write(ops, created)
        if flows is not None and self.t._workflows is not None:
            await self.t._workflows.schedule(flows.resumes)
        self._count(profile_new, session_new, len(events))
        return TrackResult(
            response=self._response(profile, session, stored, flows), profile=profile, session=session, events=events
        )

    async def _run_flows(self, events: list[Event], profile: Profile | None, session: Session) -> FlowsOutcome | None:
        """The flows rules route these events to (DESIGN.md step 5); None when workflows are off or none matched."""
        workflows = self.t._workflows
        if workflows is None:
            return None
        return await workflows.on_track(
            events, profile, session, self.source.id, debug=self.flags.debug, effects=self.effects
        )

    def _profile(self, stored: Versioned[Profile] | None) -> tuple[Profile | None, bool]:
        if self.flags.profile_less:
            return None, False
        if stored is not None:
            return stored.doc, False
        sent = ((self.payload.profile.id if self.payload.profile else None) or "").strip()
        # a client-chosen id is only adopted where the source allows static ids ("forged ids" rule)
        profile_id = sent if (self.flags.static_profile and sent) else self.t._new_id()
        return new_profile(profile_id, self.now), True

    def _session(
        self, session_id: str, stored: Versioned[Session] | None, profile: Profile | None
    ) -> tuple[Session, bool]:
        if stored is not None:
            session = stored.doc
            bound = session.profile.id if session.profile else None
            rebound = profile is not None and bound != profile.id
            # a session whose profile vanished or was merged away starts a new visit for the profile it now has
            return session, rebound or session.metadata.status == "ended"
        return new_session(session_id or self.t._new_id(), self.now), True

    def _update_session(self, session: Session, is_new: bool, profile: Profile | None) -> bool:
        context = self.context
        changed = take_utm(session, context)
        if merge_context(session, context, self.payload.properties or {}):
            changed = True
        if profile is not None and (session.profile is None or session.profile.id != profile.id):
            session.profile = PrimaryEntity(id=profile.id, primary_id=profile.primary_id)
            changed = True
        if is_new:
            ua = user_agent_of(context, self.request.user_agent)
            fill_new_session(session, context, ua, self.request.ip, self.source.channel)
            session.metadata.status = "started"
            changed = True
        if changed:
            session.metadata.time.update = self.now
        return changed

    def _update_profile(self, profile: Profile, session_new: bool) -> bool:
        changed = False
        visit = profile.metadata.time.visit
        if session_new:
            visit.last, visit.current = visit.current, self.now
            visit.count += 1
            profile.stats.visits += 1
            changed = True
        tz = timezone_of(self.context)
        if tz and visit.tz != tz:
            visit.tz = tz
            changed = True
        views = sum(1 for e in self.payload.events if e.type.strip().lower() in ("page-view", "page view"))
        if views:
            profile.stats.views += views
            changed = True
        if changed:
            profile.metadata.time.update = self.now
        return changed

    def _events(self, session: Session, profile: Profile | None, profile_new: bool, session_new: bool) -> list[Event]:
        request = dict(self.payload.request or {})
        request["headers"] = self.request.headers
        factory = EventFactory(
            source_id=self.source.id,
            channel=self.source.channel,
            session=session if self.flags.save_session else None,
            profile=profile if self.flags.save_profile else None,
            request=request,
            ip=self.request.ip,
            now=self.now,
            new_id=self.event_ids,
            debug=self.flags.debug,
        )
        events = [factory.build(ep, self.context) for ep in self.payload.events]
        if self.t._options.system_events and profile is not None and self.flags.save_session:
            events.extend(system_events(factory, self.payload, new_profile=profile_new, new_session=session_new))
        return events

    async def _write(self, ops: list[Put[Any]], created: Profile | None) -> None:
        if not ops:
            return
        results = await self.t._store.bulk(ops)
        failed = next((r.error for r in results if r.error is not None), None)
        if failed is None:
            return
        if created is not None and results[0].ok:
            # this attempt lost a race: do not leave the profile it created behind
            await self.t._store.delete(PROFILES, created.id)
        raise failed

    def _count(self, profile_new: bool, session_new: bool, n_events: int) -> None:
        m = self.t._metrics
        counter = self.t._accepted.get(self.source.id)
        if counter is None:
            counter = self.t._accepted[self.source.id] = m.events_accepted.labels(self.source.id)
        counter.inc(n_events)
        if profile_new:
            m.profiles_created.inc()
        if session_new:
            m.sessions_created.inc()

    def _response(
        self, profile: Profile | None, session: Session, stored: list[Event], flows: FlowsOutcome | None
    ) -> TrackResponse:
        return TrackResponse(
            task=self.t._new_id(),
            ux=flows.ux if flows is not None else [],
            response=flows.response if flows is not None else {},
            events=[e.id for e in stored] if self.flags.debug else [],
            profile=IdRef(id=profile.id if profile is not None and self.flags.save_profile else None),
            session=IdRef(id=session.id if self.flags.save_session else None),
        )


def _put(index: Any, doc: Any, stored: Versioned[Any] | None, create: bool) -> Put[Any]:
    if create or stored is None:
        return Put(index, doc.id, doc, create=True)
    return Put(index, doc.id, doc, if_version=stored.version)
