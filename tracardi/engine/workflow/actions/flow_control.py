"""Flow control: where a flow starts and ends, and the console log."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

from tracardi.domain.template import render
from tracardi.engine.workflow.action import Action, Fired, FlowContext, NoConfig, Result
from tracardi.log import get_logger

log = get_logger("workflow")


class StartConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    event_types: list[str] = []
    """Run only for these event types (empty: every event the rule routes here)."""
    debug: bool = False
    """Trace this flow's runs and mark the event as debugged, even when the client did not ask for it."""


class Start(Action[StartConfig]):
    """Start of a flow: fires an empty payload. With ``event_types``, the flow ends at once for other events."""

    id = "start"
    name = "Start"
    config_type = StartConfig
    inputs: ClassVar[tuple[str, ...]] = ()
    start = True

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        types = self.config.event_types
        if types and ctx.event.type not in types:
            return None
        if self.config.debug:
            ctx.event.metadata.debug = True
        return Result("payload", {})


class End(Action[NoConfig]):
    """End of a branch: fires nothing."""

    id = "end"
    name = "End"
    outputs: ClassVar[tuple[str, ...]] = ()

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        return None


class LogConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: Literal["debug", "info", "warning", "error"] = "info"
    """Log level."""
    message: str = ""
    """A template: ``{{profile@traits.tier}}`` is replaced by the value it references."""


class Log(Action[LogConfig]):
    """Write a message to the flow's console (returned in its trace) and to the server log; passes the payload on.
    A warning or error also marks the event (``metadata.warning`` / ``metadata.error``)."""

    id = "log"
    name = "Log"
    config_type = LogConfig

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        level = self.config.type
        message = render(self.config.message, ctx.scope)
        ctx.log(level, message)
        if level == "warning":
            ctx.event.metadata.warning = True
        elif level == "error":
            ctx.event.metadata.error = True
        getattr(log, level)("flow_log", message=message, node_id=ctx.node_id, event_id=ctx.event.id)
        return Result("payload", payload)
