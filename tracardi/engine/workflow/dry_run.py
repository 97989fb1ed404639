"""Dry run: a flow on a sample event, profile and session, returning its trace; nothing is saved or scheduled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracardi.domain.common import Entity, PrimaryEntity
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.event import Event, EventMetadata, EventTime, normalize_event_type
from tracardi.domain.flow import Flow, FlowTrace
from tracardi.domain.profile import Profile, new_profile
from tracardi.domain.session import Session, new_session
from tracardi.engine.workflow.compile import compile_flow
from tracardi.engine.workflow.engine import Workflows

DEBUG_PROFILE = "@debug-profile-id"
DEBUG_SESSION = "@debug-session-id"
DEBUG_EVENT = "@debug-event-id"


class SampleEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: str = "page-view"
    properties: dict[str, Any] = {}
    context: dict[str, Any] = {}


class DryRunInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of a dry run: the flow (inline, or the stored one named in the path) and sample data."""

    flow: Flow | None = None
    event: SampleEvent = msgspec.field(default_factory=SampleEvent)
    profile: dict[str, Any] | None = None
    """A profile document (Tracardi's shape); none: a new empty profile."""
    session: dict[str, Any] | None = None
    source: str = "@debug"


class ScheduledBranch(msgspec.Struct, kw_only=True):
    node: str
    port: str
    delay: float


class DryRunResult(msgspec.Struct, kw_only=True):
    """What the flow did: its trace, the entities as it left them, its answer to the client, the branches it
    would have paused."""

    trace: FlowTrace
    profile: Profile | None
    session: Session | None
    event: Event
    ux: list[Any]
    response: dict[str, Any]
    scheduled: list[ScheduledBranch]
    injected: list[Event] = []
    """Events the flow would add to the tracking call (inject-event)."""


def _convert(data: dict[str, Any], kind: type[Any], field: str) -> Any:
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid {field}: {exc}", [FieldError(["body", field], str(exc))]) from exc


def _event(sample: SampleEvent, source: str, profile: Profile, now: datetime) -> Event:
    etype = normalize_event_type(sample.type) or "page-view"
    return Event(
        id=DEBUG_EVENT,
        type=etype,
        metadata=EventMetadata(time=EventTime(insert=now, create=now), debug=True),
        source=Entity(id=source),
        profile=PrimaryEntity(id=profile.id),
        properties=sample.properties,
        context=sample.context,
    )


async def dry_run(workflows: Workflows, flow: Flow, sample: DryRunInput, now: datetime) -> DryRunResult:
    """Validate and run ``flow`` on the sample (422 naming the node or field on a bad flow or sample)."""
    flow = msgspec.structs.replace(flow, id=flow.id.strip() or "dry-run", draft=False)
    compiled = compile_flow(flow, workflows.flows.registry)
    profile = _convert(sample.profile, Profile, "profile") if sample.profile else new_profile(DEBUG_PROFILE, now)
    session = _convert(sample.session, Session, "session") if sample.session else new_session(DEBUG_SESSION, now)
    session.profile = PrimaryEntity(id=profile.id)
    event = _event(sample.event, sample.source, profile, now)
    run = await workflows.run(compiled, profile, session, event, trace=True)
    ctx = run.ctx
    return DryRunResult(
        trace=workflows.trace(run, compiled, None, ctx.event),
        profile=ctx.profile,
        session=ctx.session,
        event=ctx.event,
        ux=ctx.ux,
        response=ctx.response,
        scheduled=[ScheduledBranch(node=c.node_id, port=c.port, delay=c.delay) for c in ctx.continuations],
        injected=ctx.injected,
    )
