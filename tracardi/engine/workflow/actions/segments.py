"""Segments: add a profile to named segments or take it out (``profile.segments``)."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from tracardi.engine.workflow.action import Action, Fired, FlowContext, Result

MAX_SEGMENT = 200


class SegmentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    segment: str | list[str]
    """A segment name or a list of them."""

    def __post_init__(self) -> None:
        names = self.names()
        if not names or any(not n.strip() or len(n) > MAX_SEGMENT for n in names) or len(names) > 100:
            raise ValueError(f"give 1 to 100 segment names of 1 to {MAX_SEGMENT} characters")

    def names(self) -> list[str]:
        return [self.segment] if isinstance(self.segment, str) else list(self.segment)


class AddSegment(Action[SegmentConfig]):
    """Add the profile to segments (each name once) and stamp ``metadata.time.segmentation``; a profile-less
    event fires ``error``."""

    id = "add-segment"
    name = "Add segment"
    config_type = SegmentConfig
    outputs: ClassVar[tuple[str, ...]] = ("payload", "error")

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        profile = ctx.require_profile()
        new = [n.strip() for n in self.config.names() if n.strip() not in profile.segments]
        if new:
            profile.segments = [*profile.segments, *new]
            profile.metadata.time.segmentation = ctx.now
        return Result("payload", payload)


class RemoveSegment(Action[SegmentConfig]):
    """Take the profile out of segments; a profile-less event fires ``error``."""

    id = "remove-segment"
    name = "Remove segment"
    config_type = SegmentConfig
    outputs: ClassVar[tuple[str, ...]] = ("payload", "error")

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        profile = ctx.require_profile()
        gone = {n.strip() for n in self.config.names()}
        if gone & set(profile.segments):
            profile.segments = [s for s in profile.segments if s not in gone]
            profile.metadata.time.segmentation = ctx.now
        return Result("payload", payload)


class MoveSegmentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    from_segment: str
    """The segment to leave."""
    to_segment: str
    """The segment to join."""

    def __post_init__(self) -> None:
        for name in (self.from_segment, self.to_segment):
            if not name.strip() or len(name) > MAX_SEGMENT:
                raise ValueError(f"segment names have 1 to {MAX_SEGMENT} characters")


class MoveSegment(Action[MoveSegmentConfig]):
    """Take the profile out of ``from_segment`` and put it in ``to_segment`` (joined even when it was not in
    ``from_segment``); a profile-less event fires ``error``."""

    id = "move-segment"
    name = "Move segment"
    config_type = MoveSegmentConfig
    outputs: ClassVar[tuple[str, ...]] = ("payload", "error")

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        profile = ctx.require_profile()
        old, new = self.config.from_segment.strip(), self.config.to_segment.strip()
        segments = [s for s in profile.segments if s != old]
        if new not in segments:
            segments.append(new)
        if segments != profile.segments:
            profile.segments = segments
            profile.metadata.time.segmentation = ctx.now
        return Result("payload", payload)
