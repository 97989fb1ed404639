"""Workflows in the /track pipeline: run the flows that rules route each event to, between building the events
and saving them, and hand paused branches to the delayed queue once the request's writes are durable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from tracardi.domain.event import Event
from tracardi.domain.flow import FlowTrace, Rule
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session
from tracardi.domain.tql import evaluate, parse
from tracardi.engine.background import Background
from tracardi.engine.workflow.action import ActionDeps, Continuation, EffectKey, FlowContext
from tracardi.engine.workflow.compile import CompiledFlow
from tracardi.engine.workflow.guard import Snapshot, check
from tracardi.engine.workflow.runner import FlowLimits, RunResult, run_flow
from tracardi.engine.workflow.service import FlowService
from tracardi.log import get_logger
from tracardi.storage import StorageError

log = get_logger("workflow")
RESUME = "flow.resume"
"""The name of the delayed callable that resumes a paused flow (``scheduler:delayed``)."""


class WorkflowOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of rules and flows (section ``[workflows]``)."""

    enabled: bool = True
    """Run the flows that rules route events to (false: collect only)."""
    max_steps: int = 1000
    """Node runs per flow run; a loop that never exits is stopped here with an error in its trace."""
    max_seconds: float = 5.0
    """Wall time per flow run, awaited actions included."""
    trace_steps: int = 200
    """Steps kept in a debug trace."""
    cache_ttl: float = 2.0
    """Seconds rules and compiled flows are cached in process (other hosts see a change after at most this)."""
    max_injected_events: int = 10
    """Events the flows of one tracking call may add with the inject-event action."""

    def limits(self) -> FlowLimits:
        return FlowLimits(max_steps=self.max_steps, max_seconds=self.max_seconds, trace_steps=self.trace_steps)


class ResumeArgs(msgspec.Struct, kw_only=True):
    """What a paused branch needs to resume (the args of a ``flow.resume`` delayed call)."""

    flow_id: str
    rule_id: str = ""
    node_id: str
    port: str
    payload: Any = None
    profile_id: str | None = None
    session_id: str | None = None
    event: Event
    hop: int = 0
    """How many times this branch was resumed before (keeps job ids unique when a loop pauses again)."""


@dataclass(slots=True)
class FlowsOutcome:
    """What the flows of one tracking call did: the (validated) profile and session to save and whether they
    changed, what to answer, the traces to store, and the branches to resume later."""

    profile: Profile | None
    session: Session | None
    profile_changed: bool = False
    session_changed: bool = False
    ux: list[Any] = field(default_factory=list)
    response: dict[str, Any] = field(default_factory=dict)
    traces: list[FlowTrace] = field(default_factory=list)
    resumes: list[tuple[ResumeArgs, float]] = field(default_factory=list)
    before: tuple[bytes | None, bytes | None] | None = None
    after: tuple[bytes | None, bytes | None] | None = None
    injected: list[Event] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def merge_response(into: dict[str, Any], new: dict[str, Any]) -> None:
    """Deep-merge a flow's response into the call's (a later flow wins a conflict, as in Tracardi)."""
    for key, value in new.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge_response(current, value)
        else:
            into[key] = value


@dataclass(slots=True)
class FlowRun:
    """One flow run on one event, with everything it produced."""

    ctx: FlowContext
    result: RunResult
    error: str | None
    before: tuple[bytes | None, bytes | None]
    """The profile's and session's JSON before the run and after it (as validated)."""
    after: tuple[bytes | None, bytes | None]


class Workflows:
    """Runs flows: for the tracker (rules -> flows), on a sample (dry run) and from the delayed queue (resume)."""

    def __init__(
        self,
        flows: FlowService,
        options: WorkflowOptions | None = None,
        *,
        background: Background | None = None,
        clock: Callable[[], datetime] = _utcnow,
        deps: ActionDeps | None = None,
    ) -> None:
        self.flows = flows
        self._background = background
        self._deps = deps or ActionDeps()
        self.options = options or WorkflowOptions()
        self._limits = self.options.limits()
        self._clock = clock

    async def run(
        self,
        flow: CompiledFlow,
        profile: Profile | None,
        session: Session | None,
        event: Event,
        *,
        trace: bool,
        resume: tuple[str, str, Any] | None = None,
        injected_before: int = 0,
        effects: dict[EffectKey, Any] | None = None,
    ) -> FlowRun:
        """Run one flow on these entities and validate what it left (see ``guard``); the entities to go on with
        are ``run.ctx.profile`` / ``.session`` / ``.event``."""
        snapshot = Snapshot.take(profile, session, event)
        meta = {"id": flow.flow.id, "name": flow.flow.name}
        budget = self.options.max_injected_events - injected_before
        ctx = FlowContext(
            profile=profile,
            session=session,
            event=event,
            flow=meta,
            now=self._clock(),
            debug=trace,
            deps=self._deps,
            inject_budget=budget,
            effects=effects,
        )
        result = await run_flow(flow, ctx, self._limits, trace=trace, resume=resume)
        checked = check(snapshot, ctx.profile, ctx.session, ctx.event)
        ctx.scope.update(profile=checked.profile, session=checked.session, event=checked.event)
        error = result.error
        if checked.error is not None:
            error = f"{error}; {checked.error}" if error else checked.error
            ctx.continuations.clear()
            ctx.injected.clear()
        if error:
            log.warning("flow_failed", flow_id=flow.flow.id, event_id=event.id, error=error)
        before = (snapshot.profile, snapshot.session)
        return FlowRun(ctx, result, error, before, (checked.profile_json, checked.session_json))

    async def on_track(
        self,
        events: list[Event],
        profile: Profile | None,
        session: Session | None,
        source_id: str,
        *,
        debug: bool,
        effects: dict[EffectKey, Any] | None = None,
    ) -> FlowsOutcome | None:
        """Run the flows routed to each event (in order); None when no rule matched. Events the flows changed are
        replaced in ``events``; the outcome carries the profile and session to save. ``effects`` is kept by the
        caller across the attempts of one tracking call (see ``FlowContext.effects``)."""
        if not self.options.enabled or not await self.flows.has_rules():
            return None
        outcome: FlowsOutcome | None = None
        sent = len(events)
        for i, event in enumerate(events):  # events the flows inject are appended, and routed in turn
            for rule in await self.flows.rules_for(event.type, source_id):
                outcome = outcome or FlowsOutcome(profile, session)
                events[i] = await self._run_rule(rule, events[i], outcome, debug, effects)
                events.extend(outcome.injected[len(events) - sent :])
        if outcome is not None:
            self._changes(outcome)
        return outcome

    async def schedule(self, resumes: list[tuple[ResumeArgs, float]]) -> None:
        """Put paused branches on the delayed queue. Called once the request's writes are durable, so a retried
        attempt (which re-runs its flows) never schedules a branch twice; a failure here is logged, not raised,
        as the request's data is already saved."""
        if not resumes:
            return
        if self._background is None:
            log.error("flow_resume_not_scheduled", reason="no delayed queue in this process", count=len(resumes))
            return
        for n, (args, delay) in enumerate(resumes):
            job_id = f"{args.event.id}:{args.rule_id}:{args.node_id}:{args.hop}:{n}"
            try:
                await self._background.later(RESUME, msgspec.to_builtins(args), delay=delay, job_id=job_id)
            except StorageError as exc:
                log.error("flow_resume_not_scheduled", flow_id=args.flow_id, node_id=args.node_id, error=str(exc))

    def _changes(self, outcome: FlowsOutcome) -> None:
        """Whether the flows changed the profile and session: their JSON before the first run against after the last."""
        if outcome.before is None or outcome.after is None:
            return
        outcome.profile_changed = outcome.after[0] != outcome.before[0]
        outcome.session_changed = outcome.after[1] != outcome.before[1]
        now = self._clock()
        if outcome.profile_changed and outcome.profile is not None:
            outcome.profile.metadata.time.update = now
        if outcome.session_changed and outcome.session is not None:
            outcome.session.metadata.time.update = now

    async def _run_rule(
        self, rule: Rule, event: Event, outcome: FlowsOutcome, debug: bool, effects: dict[EffectKey, Any] | None
    ) -> Event:
        if rule.condition and not self._holds(rule, event, outcome):
            return event
        flow = await self.flows.compiled(rule.flow.id)
        if flow is None:
            log.warning("rule_flow_missing", rule_id=rule.id, flow_id=rule.flow.id)
            return event
        trace = debug or event.metadata.debug or flow.debug
        run = await self.run(
            flow,
            outcome.profile,
            outcome.session,
            event,
            trace=trace,
            injected_before=len(outcome.injected),
            effects=effects,
        )
        outcome.before = outcome.before or run.before
        outcome.after = run.after
        ctx = run.ctx
        outcome.injected.extend(ctx.injected)
        outcome.profile, outcome.session, event = ctx.profile, ctx.session, ctx.event
        outcome.ux.extend(ctx.ux)
        merge_response(outcome.response, ctx.response)
        event.metadata.status = "processed"
        event.metadata.processed_by.rules.append(rule.name or rule.id)
        event.metadata.processed_by.flows.append(flow.flow.id)
        if run.error:
            event.metadata.error = True
        if trace:
            outcome.traces.append(self.trace(run, flow, rule, event))
        for c in ctx.continuations:
            outcome.resumes.append((self._resume_args(c, flow, rule, event, outcome), c.delay))
        return event

    def _holds(self, rule: Rule, event: Event, outcome: FlowsOutcome) -> bool:
        scope = {
            "profile": outcome.profile,
            "session": outcome.session,
            "event": event,
            "payload": event.properties,
            "flow": {},
            "memory": {},
        }
        return bool(evaluate(parse(rule.condition), scope))

    def trace(self, run: FlowRun, flow: CompiledFlow, rule: Rule | None, event: Event) -> FlowTrace:
        rule_id = rule.id if rule is not None else ""
        return FlowTrace(
            id=f"{event.id}:{rule_id or flow.flow.id}",
            event_id=event.id,
            flow_id=flow.flow.id,
            rule_id=rule_id,
            profile_id=run.ctx.profile.id if run.ctx.profile is not None else None,
            time=run.ctx.now,
            steps=run.result.steps,
            truncated=run.result.truncated,
            error=run.error,
            logs=[{"node": e.node_id, "level": e.level, "message": e.message} for e in run.ctx.logs],
        )

    @staticmethod
    def _resume_args(
        c: Continuation, flow: CompiledFlow, rule: Rule, event: Event, outcome: FlowsOutcome
    ) -> ResumeArgs:
        return ResumeArgs(
            flow_id=flow.flow.id,
            rule_id=rule.id,
            node_id=c.node_id,
            port=c.port,
            payload=c.payload,
            profile_id=outcome.profile.id if outcome.profile is not None else None,
            session_id=outcome.session.id if outcome.session is not None else None,
            event=event,
        )
