"""Inject event: add an event to the tracking call the flow runs in."""

from __future__ import annotations

import copy
import uuid
from typing import Any, ClassVar

import msgspec

from tracardi.domain.event import Event, EventMetadata, EventTime, Tags, event_name, normalize_event_type
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, Result, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR, fill, required

_IDS = uuid.UUID("5b0f3c1e-4a8e-4f51-9d0c-7a3c2f0e8b11")
"""The namespace of injected event ids: derived from the parent event, flow and node, so a re-run flow (a
retried tracking attempt) injects events with the ids it had."""


class InjectConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: str
    """The event type, e.g. ``purchase-completed`` (normalized as /track does)."""
    properties: dict[str, Any] = {}
    """The event's properties; string leaves are templates, a leaf that is one placeholder takes the value."""
    source: str | None = None
    """Instead of ``properties``: a reference to a dict that becomes them (e.g. ``payload@``)."""

    def __post_init__(self) -> None:
        etype = normalize_event_type(self.type)
        if not etype or len(etype) > 100:
            raise ValueError("an event type has 1 to 100 characters")
        if self.source is not None:
            if self.properties:
                raise ValueError("give properties or source, not both")
            parse_ref(self.source)


class InjectEvent(Action[InjectConfig]):
    """Add an event of ``type`` with ``properties`` to this tracking call: it has the profile, session, source and
    context of the event the flow runs on, is stored with the call (its id is in /track's ``events`` with
    ``debug``), and the rules of its type run on it in turn. A call may gain at most
    ``workflows.max_injected_events`` events this way; more fire ``error``. A source that is not a dict fires
    ``error``."""

    id = "inject-event"
    name = "Inject event"
    config_type = InjectConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: InjectConfig) -> None:
        super().__init__(config)
        self._type = normalize_event_type(config.type)
        self._source = parse_ref(config.source) if config.source is not None else None

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        if len(ctx.injected) >= ctx.inject_budget:
            raise ActionError("this tracking call may not gain more events (workflows.max_injected_events)")
        properties = fill(self.config.properties, ctx.scope) if self._source is None else required(ctx, self._source)
        if not isinstance(properties, dict):
            raise ActionError(f"{self._source} is not a dict of properties")
        ctx.injected.append(self._event(ctx, properties))
        return Result("payload", payload)

    def _event(self, ctx: FlowContext, properties: dict[str, Any]) -> Event:
        parent = ctx.event
        # the budget left falls with every event the call injected before, so two rules running this flow on one
        # event still make distinct ids
        flow_id = ctx.scope["flow"].get("id", "")
        key = f"{parent.id}:{flow_id}:{ctx.node_id}:{ctx.inject_budget}:{len(ctx.injected)}"
        meta = EventMetadata(
            time=EventTime(insert=ctx.now, create=ctx.now),
            ip=parent.metadata.ip,
            channel=parent.metadata.channel,
            profile_less=parent.metadata.profile_less,
            debug=parent.metadata.debug,
            aux={"injected_by": {"event": parent.id, "node": ctx.node_id}},
        )
        try:
            properties = msgspec.json.decode(msgspec.json.encode(properties))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ActionError(f"the properties are not JSON: {exc}") from exc
        return msgspec.structs.replace(
            copy.deepcopy(parent),
            id=str(uuid.uuid5(_IDS, key)),
            type=self._type,
            name=event_name(self._type),
            metadata=meta,
            properties=properties,
            traits={},
            config={},
            tags=Tags(),
            data={},
            aux={},
        )
