"""The collector's two profiling steps: enrichment before the flows, identity and segments after them."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import datetime
from types import TracebackType

import msgspec

from tracardi.domain.event import Event
from tracardi.domain.identity import REQUEST_KEY, take_merge_request
from tracardi.domain.paths import profile_path
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session
from tracardi.engine.profiling._enrich import map_to_profile, reshape, validate
from tracardi.engine.profiling._identity import resolve
from tracardi.engine.profiling._segments import segment, segment_all
from tracardi.engine.profiling.service import ProfilingService
from tracardi.log import get_logger
from tracardi.storage import PROFILES, DocumentStore, Locks

log = get_logger("profiling")


class ProfilingOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of profile intelligence (section ``[profiling]``)."""

    cache_ttl: float = 2.0
    """Seconds the compiled configuration is cached; a change through this host's admin API applies at once."""
    merge_lock_timeout: float = 5.0
    """Longest wait for the locks of a merge; a merge that cannot get them runs at the profile's next track."""
    max_merge: int = 20
    """Most profiles merged into one at a time."""


class Profiler:
    """Runs the configured validation, reshaping, mapping, merging and segmentation inside a tracking call.

    With nothing configured both steps cost one cached lookup.
    """

    def __init__(
        self, service: ProfilingService, store: DocumentStore, locks: Locks, options: ProfilingOptions | None = None
    ) -> None:
        self._service = service
        self._store = store
        self._locks = locks
        self._options = options or ProfilingOptions()

    async def before_flows(
        self, events: list[Event], profile: Profile | None, session: Session | None, now: datetime
    ) -> bool:
        """Validate every event (EventRejected: nothing is stored), then reshape and map each; True if changed."""
        config = await self._service.config()
        if not config.enriches:
            return False
        for index, event in enumerate(events):
            validate(config, index, event)
        changed = False
        for event in events:
            reshape(config, event)
            if profile is not None:
                changed = map_to_profile(config, event, profile, session) or changed
        if changed and profile is not None:
            profile.metadata.time.update = now
        return changed

    async def segment_now(self, profile: Profile, session: Session | None, event: Event) -> bool:
        """Check every enabled post-event segment on ``profile`` now (the segment-profile action of a flow);
        True if ``profile.segments`` changed."""
        return segment_all(await self._service.config(), event, profile, session)

    def after_flows(
        self, events: list[Event], profile: Profile | None, session: Session | None, now: datetime
    ) -> AfterFlows:
        """``async with`` it around the write: yields True if the profile changed; merged-away profiles are
        deleted and merge locks released once the block (the write of the survivor) succeeded."""
        return AfterFlows(self, events, profile, session, now)


def _requested(profile: Profile) -> list[str]:
    """The valid paths a flow asked to merge on now; an invalid one is logged and ignored."""
    if REQUEST_KEY not in profile.metadata.system:
        return []
    paths = []
    for key in take_merge_request(profile):
        try:
            paths.append(profile_path(key))
        except ValueError as exc:
            log.warning("merge_request_ignored", profile_id=profile.id, key=key, error=str(exc))
    return paths


class AfterFlows:
    """Identity resolution and segmentation, holding the merge locks until the survivor is written.

    A flow asks for a merge now (the "merge profiles" action) by listing profile paths in
    ``profile.metadata.system["merge_requested"]``; the profiles sharing those values are merged in this step.
    """

    def __init__(
        self, profiler: Profiler, events: list[Event], profile: Profile | None, session: Session | None, now: datetime
    ) -> None:
        self._p = profiler
        self._events = events
        self._profile = profile
        self._session = session
        self._now = now
        self._stack = AsyncExitStack()
        self._merged_away: list[str] = []

    async def __aenter__(self) -> bool:
        p, profile = self._p, self._profile
        config = await p._service.config()
        requested = _requested(profile) if profile is not None else []
        if profile is None or not (config.resolves or requested):
            return False
        changed = False
        if config.merge_keys or requested:
            opts = p._options
            resolution = await resolve(
                p._store,
                p._locks,
                self._stack,
                profile,
                config.merge_keys,
                requested=requested,
                lock_wait=opts.merge_lock_timeout,
                limit=opts.max_merge,
            )
            if resolution is not None:
                changed = True
                self._merged_away = resolution.merged_away
        if segment(config, self._events, profile, self._session):
            profile.metadata.time.segmentation = self._now
            changed = True
        if changed:
            profile.metadata.time.update = self._now
        return changed

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        async with self._stack:
            if exc_type is None:
                for profile_id in self._merged_away:
                    await self._p._store.delete(PROFILES, profile_id)
