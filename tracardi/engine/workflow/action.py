"""The action contract: one small class per action, with a typed config Struct and the ports it may fire.

An action is built once per compiled flow from its node's config (decoding the config IS its validation) and run
once per payload that reaches its node. It must keep no state between runs: everything a run needs is its config,
the payload and the FlowContext (profile, session, event, memory, response, ux, clock).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import httpx
import msgspec

from tracardi.domain import refs
from tracardi.domain.dotpath import MISSING
from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.domain.session import Session

Segmenter = Callable[[Profile, Session | None, Event], Awaitable[bool]]
"""Checks every post-event segment on a profile now; True if ``profile.segments`` changed."""


@dataclass(frozen=True, slots=True)
class ActionDeps:
    """The ports actions may use, built once by the composition root; None where a process has no such port."""

    http: httpx.AsyncClient | None = None
    """The shared HTTP client (webhook calls)."""
    segment_now: Segmenter | None = None
    """Post-event segmentation on demand (the segment-profile action)."""


EffectKey = tuple[str, str, str, int]
"""(event id, flow id, node id, the node's n-th effect on that event)."""


class NoConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The config of an action that takes none."""


C = TypeVar("C", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Result:
    """What a run fires: ``value`` goes out on the output port ``port`` (to every edge leaving it)."""

    port: str
    value: Any


Fired = Result | Sequence[Result] | None
"""A run fires one port, several, or none (the branch ends here)."""


class ActionError(Exception):
    """An expected failure of a run (a non-numeric counter, no profile): the node's ``error`` port fires with
    ``{"message": ..., "node": ...}`` when it has one, else the flow stops with this error."""


@dataclass(frozen=True, slots=True)
class Continuation:
    """A branch handed to the delayed-job queue: after ``delay`` seconds, fire ``port`` of ``node_id`` with
    ``payload`` on the same profile, session and event (Pause and resume, Run in background)."""

    node_id: str
    port: str
    payload: Any
    delay: float


@dataclass(slots=True)
class LogEntry:
    """A line an action wrote to the flow's console (also logged)."""

    node_id: str
    level: str
    message: str


class FlowContext:
    """What the actions of one flow run share: the entities they read and write through references
    (``profile@traits.x``), the run's ``memory``, the ``ux`` and ``response`` returned to the client, and the
    branches deferred to the delayed queue."""

    def __init__(
        self,
        *,
        profile: Profile | None,
        session: Session | None,
        event: Event,
        flow: dict[str, Any],
        now: datetime,
        debug: bool = False,
        deps: ActionDeps | None = None,
        inject_budget: int = 0,
        effects: dict[EffectKey, Any] | None = None,
    ) -> None:
        self.scope: dict[str, Any] = {
            "profile": profile,
            "session": session,
            "event": event,
            "flow": flow,
            "memory": {},
            "payload": {},
        }
        self.now = now
        self.debug = debug
        self.node_id = ""
        self.ux: list[Any] = []
        self.response: dict[str, Any] = {}
        self.logs: list[LogEntry] = []
        self.continuations: list[Continuation] = []
        self.deps = deps or ActionDeps()
        self.injected: list[Event] = []
        """Events actions added to this tracking call (stored with it, and routed to rules in turn)."""
        self.inject_budget = inject_budget
        """How many events this run may still add (bounds a flow that injects the event it runs on)."""
        self.effects: dict[EffectKey, Any] = {} if effects is None else effects
        """Outcomes of actions with effects outside the CDP (webhook calls), kept across the attempts of one
        tracking call: a retried attempt re-runs its flows but must not call anybody twice."""
        self._effects_seen: dict[tuple[str, str, str], int] = {}

    @property
    def profile(self) -> Profile | None:
        profile: Profile | None = self.scope["profile"]
        return profile

    @property
    def session(self) -> Session | None:
        session: Session | None = self.scope["session"]
        return session

    @property
    def event(self) -> Event:
        event: Event = self.scope["event"]
        return event

    def read(self, ref: refs.Ref, default: Any = MISSING) -> Any:
        """The value a reference points at, or ``default``."""
        value = refs.read(self.scope, ref)
        return default if value is MISSING else value

    def write(self, ref: refs.Ref, value: Any) -> None:
        """Set the value a reference points at; ActionError where the target cannot hold it."""
        try:
            refs.write(self.scope, ref, value)
        except TypeError as exc:
            raise ActionError(f"cannot write {ref}: {exc}") from exc

    def delete(self, ref: refs.Ref) -> bool:
        return refs.delete(self.scope, ref)

    def require_profile(self) -> Profile:
        """The profile, or ActionError for a profile-less event."""
        profile = self.profile
        if profile is None:
            raise ActionError("this event has no profile")
        return profile

    def log(self, level: str, message: str) -> None:
        self.logs.append(LogEntry(self.node_id, level, message))

    def effect_key(self) -> EffectKey:
        """The running node's next effect on this event in this flow: the n-th call of a node (in a loop) has the
        same key in every attempt, as the event keeps its id across attempts."""
        base = (self.event.id, str(self.scope["flow"].get("id", "")), self.node_id)
        n = self._effects_seen.get(base, 0)
        self._effects_seen[base] = n + 1
        return (*base, n)


class Action(Generic[C]):
    """Base of every action. Subclasses set ``id``, ``name``, ``config_type`` and the ports, write a docstring
    (it is the action's documentation in ``GET /api/actions``) and implement ``run``."""

    id: ClassVar[str]
    name: ClassVar[str]
    config_type: ClassVar[type[msgspec.Struct]] = NoConfig
    inputs: ClassVar[tuple[str, ...]] = ("payload",)
    outputs: ClassVar[tuple[str, ...]] = ("payload",)
    start: ClassVar[bool] = False
    """A start node: runs first, with an empty payload, when the flow starts."""

    def __init__(self, config: C) -> None:
        self.config = config

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        """Handle one payload that reached the node; return the port(s) to fire."""
        raise NotImplementedError


def parse_ref(text: str, *, writable: bool = False) -> refs.Ref:
    """A reference from a config field; ValueError (a 422 on save) when malformed or not writable."""
    ref = refs.parse_ref(text)
    if writable and ref.entity in ("flow", "source"):
        raise ValueError(f"{text!r}: {ref.entity}@ is read-only")
    if writable and not ref.path and ref.entity in ("profile", "session", "event"):
        raise ValueError(f"{text!r}: name a field inside {ref.entity}, not the whole {ref.entity}")
    return ref
