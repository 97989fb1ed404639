"""The ``segmentation:live`` side: apply one live segment to each profile of a batch.

Each profile is read, segmented and written under its lock (the tracker's ``profile:<id>``), so a /track of that
profile in this process waits for it, and the write expects the version it read, so a write from another host in
between is never overwritten: after a short random back-off the profile is read again and segmented again. It is
written only when the segment changed it, so a redelivered job finds nothing to do for the profiles it already did.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime

from tracardi.domain.live_segment import LiveSegment, segmentation_event
from tracardi.domain.messages import SegmentProfiles
from tracardi.domain.profile import Profile
from tracardi.domain.segment import update_segments
from tracardi.domain.tql import parse, predicate
from tracardi.engine.workflow import Workflows
from tracardi.engine.workflow.guard import encode
from tracardi.log import get_logger
from tracardi.storage import LIVE_SEGMENTS, PROFILES, DocumentStore, Locks, VersionConflict

log = get_logger("segmentation")
Apply = Callable[[Profile, datetime], Awaitable[Profile | None]]
"""Segment a profile: the profile to save, or None when nothing changed."""


class FlowMissing(Exception):
    """The live segment's flow is gone, disabled or a draft: the batch cannot run."""


class LiveSegmenter:
    """Applies live segments to batches of profiles (the ``segmentation:live`` worker's engine side)."""

    def __init__(
        self,
        store: DocumentStore,
        locks: Locks,
        workflows: Workflows,
        clock: Callable[[], datetime],
        *,
        attempts: int = 5,
    ) -> None:
        self._store = store
        self._locks = locks
        self._workflows = workflows
        self._clock = clock
        self._attempts = attempts

    async def segment(self, message: SegmentProfiles) -> int:
        """Apply the live segment (as it is now) to each profile; how many changed. A deleted or disabled live
        segment does nothing; raises FlowMissing when its flow cannot run, VersionConflict when a profile kept
        changing under every attempt (the job is retried)."""
        found = await self._store.get(LIVE_SEGMENTS, message.live_segment)
        if found is None or not found.doc.enabled:
            log.info("live_segment_skipped", live_segment=message.live_segment, reason="deleted or disabled")
            return 0
        apply = await self._applier(found.doc)
        changed = 0
        for profile_id in message.profile_ids:
            if await self._one(profile_id, apply):
                changed += 1
        log.debug("live_segment_applied", live_segment=found.doc.id, profiles=len(message.profile_ids), changed=changed)
        return changed

    async def _one(self, profile_id: str, apply: Apply) -> bool:
        for attempt in range(1, self._attempts + 1):
            async with self._locks.hold(f"profile:{profile_id}"):
                stored = await self._store.get(PROFILES, profile_id)
                if stored is None:  # deleted or merged away since it was queued
                    return False
                updated = await apply(stored.doc, self._clock())
                if updated is None:
                    return False
                try:
                    await self._store.put(PROFILES, profile_id, updated, if_version=stored.version)
                    return True
                except VersionConflict:
                    if attempt == self._attempts:
                        raise
                    log.info("live_segment_conflict", profile_id=profile_id, attempt=attempt)
            # Another host is writing this profile: step aside (without the lock) for a random, growing while, so
            # a burst of tracks is not raced in lockstep.
            await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))
        return False

    async def _applier(self, live: LiveSegment) -> Apply:
        if live.type == "condition":
            holds = predicate(parse(live.condition), "profile")
            name = live.segment

            async def by_condition(profile: Profile, now: datetime) -> Profile | None:
                if not update_segments(profile.segments, name, bool(holds({"profile": profile}))):
                    return None
                profile.metadata.time.segmentation = profile.metadata.time.update = now
                return profile

            return by_condition
        flow = await self._workflows.flows.compiled(live.flow_id)
        if flow is None:
            raise FlowMissing(f"live segment {live.id}: flow {live.flow_id} is missing, disabled or a draft")

        async def by_flow(profile: Profile, now: datetime) -> Profile | None:
            before = encode(profile)
            run = await self._workflows.run(flow, profile, None, segmentation_event(profile, now), trace=False)
            after = run.ctx.profile
            if run.ctx.continuations:
                log.warning("live_segment_pause_ignored", live_segment=live.id, flow_id=flow.flow.id)
            if after is None or encode(after) == before:
                return None
            after.metadata.time.segmentation = after.metadata.time.update = now
            return after

        return by_flow
