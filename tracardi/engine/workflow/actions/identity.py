"""Merge and segment now: the profile intelligence of the tracker, asked for from a flow.

Merging needs the profile locks and the store, so a flow does not merge inline: "merge profiles" names the profile
paths to merge on, and the tracker's identity step (right after this call's flows, before the write) merges every
stored profile sharing one of those values into this one (``tracardi.engine.profiling``). In a branch resumed
from the delayed queue the request waits for the profile's next tracking call. "Segment profile" checks the
post-event segments at once, through the port the composition root hands to the engine.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from tracardi.domain.identity import REQUEST_KEY
from tracardi.domain.paths import profile_path
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, NoConfig, Result
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR

MAX_KEYS = 10


class MergeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    merge_by: list[str]
    """Profile paths whose values identify the person, e.g. ``["profile@data.contact.email.main"]`` (1 to 10)."""

    def __post_init__(self) -> None:
        if not 1 <= len(self.merge_by) <= MAX_KEYS:
            raise ValueError(f"merge_by takes 1 to {MAX_KEYS} profile paths")
        for key in self.merge_by:
            profile_path(key)


class MergeProfiles(Action[MergeConfig]):
    """Merge, in this tracking call, every stored profile that shares a value of ``merge_by`` with this profile
    into it (right after the flows; the survivor keeps every id). An empty value merges nothing. A profile-less
    event fires ``error``."""

    id = "merge-profiles"
    name = "Merge profiles"
    config_type = MergeConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: MergeConfig) -> None:
        super().__init__(config)
        self._paths = [profile_path(k) for k in config.merge_by]

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        system = ctx.require_profile().metadata.system
        asked = system.get(REQUEST_KEY)
        asked = list(asked) if isinstance(asked, list) else []
        system[REQUEST_KEY] = asked + [p for p in self._paths if p not in asked]
        return Result("payload", payload)


class SegmentProfile(Action[NoConfig]):
    """Check every enabled post-event segment on the profile now (whatever event types it waits for): the profile
    joins those whose condition holds and leaves the others, so later nodes see its segments. A profile-less event
    fires ``error``."""

    id = "segment-profile"
    name = "Segment profile"
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        profile = ctx.require_profile()
        segment_now = ctx.deps.segment_now
        if segment_now is None:
            raise ActionError("this process has no segmentation")
        if await segment_now(profile, ctx.session, ctx.event):
            profile.metadata.time.segmentation = ctx.now
        return Result("payload", payload)
