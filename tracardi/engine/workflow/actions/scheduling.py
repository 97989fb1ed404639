"""Pause and resume, Run in background: hand the rest of a branch to the delayed-job queue.

The run that reaches the node fires nothing (the branch stops in this request); once the tracker has saved the
request's writes, the continuation is put on ``scheduler:delayed``. When it is due, a worker resumes the flow at
this node: the node's ``output`` port fires with the payload the node received, on the profile and session as
they are then and the event as it was.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from tracardi.engine.workflow.action import Action, Continuation, Fired, FlowContext, NoConfig

MAX_WAIT = 30 * 24 * 3600.0


class PauseConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    wait: float = 60
    """Seconds until the flow resumes after this node (0 to 30 days)."""

    def __post_init__(self) -> None:
        if not 0 <= self.wait <= MAX_WAIT:
            raise ValueError(f"wait must be from 0 to {MAX_WAIT:.0f} seconds")


class Pause(Action[PauseConfig]):
    """Pause the branch and resume it after ``wait`` seconds, off the request path (output port ``output``)."""

    id = "pause"
    name = "Pause and resume"
    config_type = PauseConfig
    outputs: ClassVar[tuple[str, ...]] = ("output",)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        ctx.continuations.append(Continuation(ctx.node_id, "output", payload, self.config.wait))
        return None


class Background(Action[NoConfig]):
    """Run the rest of the branch in the background, right after the request (output port ``output``)."""

    id = "background"
    name = "Run in background"
    outputs: ClassVar[tuple[str, ...]] = ("output",)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        ctx.continuations.append(Continuation(ctx.node_id, "output", payload, 0.0))
        return None
