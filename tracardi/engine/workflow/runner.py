"""Run a compiled flow: walk from the start nodes, pass payloads along edges, fire the ports actions return.

Branches run one node at a time in a deterministic breadth-first order (a FIFO of pending node inputs), not as
concurrent tasks: every action of a flow mutates the same profile, session and event, and one order makes a run
repeatable (a retried /track re-runs it the same way). A node reached by N payloads runs N times.

A failing node (ActionError or any other exception) fires its ``error`` port when that port has edges; otherwise
the run stops with the error. A run is bounded in steps (node runs) and wall time; crossing a bound stops it with
an error naming the bound and the node, so a loop that never exits ends.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tracardi.domain.flow import TraceStep
from tracardi.engine.workflow.action import ActionError, Fired, FlowContext, Result
from tracardi.engine.workflow.compile import CompiledFlow, Node
from tracardi.log import get_logger

log = get_logger("workflow")
MAX_TRACE_VALUE = 4096


class FlowLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bounds of one flow run."""

    max_steps: int = 1000
    """Node runs per flow run; a loop that never exits stops here."""
    max_seconds: float = 5.0
    """Wall time per flow run (awaited actions included)."""
    trace_steps: int = 200
    """Steps recorded in a debug trace; later ones are counted, not kept."""


@dataclass(slots=True)
class RunResult:
    """What a run did: its trace (when asked for), and why it stopped early, if it did."""

    steps: list[TraceStep] = field(default_factory=list)
    truncated: int = 0
    error: str | None = None
    count: int = 0


Pending = tuple[int, str, Any]


def _snapshot(value: Any) -> Any:
    """A JSON-ready copy of a payload for the trace, cut when large (a hostile flow may build huge ones)."""
    try:
        raw = msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError):
        return repr(value)[:MAX_TRACE_VALUE]
    if len(raw) > MAX_TRACE_VALUE:
        return f"<{len(raw)} bytes, not kept>"
    return msgspec.json.decode(raw)


def _results(fired: Fired, outputs: tuple[str, ...]) -> list[Result]:
    """What a run fired, as a list; ActionError for a port the action does not declare (a bug in the action)."""
    if fired is None:
        return []
    results = [fired] if isinstance(fired, Result) else list(fired)
    for result in results:
        if result.port not in outputs:
            raise ActionError(f"fired an unknown port {result.port!r}")
    return results


class _Run:
    def __init__(self, flow: CompiledFlow, ctx: FlowContext, limits: FlowLimits, trace: bool) -> None:
        self.flow = flow
        self.ctx = ctx
        self.limits = limits
        self.trace = trace
        self.result = RunResult()
        self.queue: deque[Pending] = deque()

    def emit(self, node: Node, results: list[Result]) -> None:
        for result in results:
            targets = node.out.get(result.port, ())
            for n, (target, port) in enumerate(targets):
                value = result.value if n == len(targets) - 1 else copy.deepcopy(result.value)
                self.queue.append((target, port, value))

    async def step(self, index: int, port: str, payload: Any) -> None:
        node = self.flow.nodes[index]
        action = node.action
        ctx = self.ctx
        ctx.node_id = node.id
        ctx.scope["payload"] = payload
        record = TraceStep(node=node.id, action=type(action).id, port=port) if self.trace else None
        if record is not None:
            record.input = _snapshot(payload)
        started = time.perf_counter() if record is not None else 0.0
        error: str | None = None
        try:
            results = _results(await action.run(payload, ctx), type(action).outputs)
        except ActionError as exc:
            error, results = str(exc), []
        except Exception as exc:  # noqa: BLE001 - a node is a boundary: its failure goes to its error port or stops the flow
            log.warning("flow_node_failed", node_id=node.id, action=type(action).id, error=repr(exc))
            error, results = f"{type(exc).__name__}: {exc}", []
        if error is not None:
            if "error" in node.out:
                results = [Result("error", {"message": error, "node": node.id})]
            else:
                self.result.error = f"node {node.id!r} ({type(action).id}) failed: {error}"
        if record is not None:
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            record.error = error
            record.output = {r.port: _snapshot(r.value) for r in results}
            self.keep(record)
        self.emit(node, results)

    def keep(self, record: TraceStep) -> None:
        if len(self.result.steps) < self.limits.trace_steps:
            self.result.steps.append(record)
        else:
            self.result.truncated += 1

    async def walk(self, deadline: float) -> None:
        limit = self.limits.max_steps
        while self.queue and self.result.error is None:
            index, port, payload = self.queue.popleft()
            if self.result.count >= limit:
                self.result.error = (
                    f"stopped after {limit} steps (workflows.max_steps) before node "
                    f"{self.flow.nodes[index].id!r}: does a loop never exit?"
                )
                return
            if time.monotonic() > deadline:  # actions that never suspend give asyncio.timeout no chance to fire
                raise TimeoutError
            self.result.count += 1
            await self.step(index, port, payload)


async def run_flow(
    flow: CompiledFlow,
    ctx: FlowContext,
    limits: FlowLimits,
    *,
    trace: bool = False,
    resume: tuple[str, str, Any] | None = None,
) -> RunResult:
    """Run ``flow`` from its start nodes (or, with ``resume=(node id, port, payload)``, from that port)."""
    run = _Run(flow, ctx, limits, trace)
    if resume is None:
        run.queue.extend((i, "", {}) for i in flow.starts)
    else:
        node_id, port, payload = resume
        run.emit(flow.nodes[flow.by_id[node_id]], [Result(port, payload)])
    try:
        async with asyncio.timeout(limits.max_seconds):
            await run.walk(time.monotonic() + limits.max_seconds)
    except TimeoutError:
        run.result.error = f"stopped after {limits.max_seconds:g} s (workflows.max_seconds) at node {ctx.node_id!r}"
    return run.result
