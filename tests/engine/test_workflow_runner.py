"""The flow runner on its own: order of branches, copies between branches, ports, bounds, resuming."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, ClassVar

import msgspec
import pytest

from tests.api.flows_helpers import edge, flow, node
from tracardi.domain.common import Entity
from tracardi.domain.errors import InvalidInput
from tracardi.domain.event import Event
from tracardi.domain.flow import Flow
from tracardi.domain.profile import new_profile
from tracardi.engine.workflow import (
    ACTIONS,
    Action,
    ActionRegistry,
    Fired,
    FlowContext,
    FlowLimits,
    NoConfig,
    Result,
    compile_flow,
    run_flow,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Mark(Action[NoConfig]):
    """Test action: appends its node id to ``memory@seen`` and to the payload's ``path``, then passes it on."""

    id = "mark"
    name = "Mark"

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        ctx.scope["memory"].setdefault("seen", []).append(ctx.node_id)
        payload.setdefault("path", []).append(ctx.node_id)
        return Result("payload", payload)


class Slow(Action[NoConfig]):
    """Test action: takes a long time."""

    id = "slow"
    name = "Slow"

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        await asyncio.sleep(10)
        return Result("payload", payload)


class Liar(Action[NoConfig]):
    """Test action: fires a port it does not declare."""

    id = "liar"
    name = "Liar"
    outputs: ClassVar[tuple[str, ...]] = ("payload",)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        return Result("elsewhere", payload)


REGISTRY = ActionRegistry([*ACTIONS, Mark, Slow, Liar])


def _ctx() -> FlowContext:
    event = Event(id="e1", type="buy", source=Entity(id="s"))
    return FlowContext(profile=new_profile("p1", NOW), session=None, event=event, flow={}, now=NOW)


async def _run(doc: dict[str, Any], limits: FlowLimits | None = None, **kw: Any) -> tuple[Any, FlowContext]:
    ctx = _ctx()
    compiled = compile_flow(msgspec.convert(doc, Flow), REGISTRY)
    return await run_flow(compiled, ctx, limits or FlowLimits(), trace=True, **kw), ctx


async def test_branches_run_breadth_first_on_their_own_copy_of_the_payload() -> None:
    nodes = [node("s", "start"), node("a", "mark"), node("b", "mark"), node("a2", "mark"), node("b2", "mark")]
    edges = [edge("s", "a"), edge("s", "b"), edge("a", "a2"), edge("b", "b2")]
    result, ctx = await _run(flow("f", nodes, edges))
    assert result.error is None
    assert ctx.scope["memory"]["seen"] == ["a", "b", "a2", "b2"]
    outputs = {s.node: s.output["payload"]["path"] for s in result.steps if s.node in ("a2", "b2")}
    assert outputs == {"a2": ["a", "a2"], "b2": ["b", "b2"]}


async def test_a_node_reached_twice_runs_twice() -> None:
    nodes = [node("s", "start"), node("a", "mark"), node("b", "mark"), node("join", "mark")]
    edges = [edge("s", "a"), edge("s", "b"), edge("a", "join"), edge("b", "join")]
    _, ctx = await _run(flow("f", nodes, edges))
    assert ctx.scope["memory"]["seen"] == ["a", "b", "join", "join"]


async def test_the_time_bound_stops_a_slow_flow() -> None:
    doc = flow("f", [node("s", "start"), node("z", "slow")], [edge("s", "z")])
    result, _ = await _run(doc, FlowLimits(max_seconds=0.05))
    assert "workflows.max_seconds" in result.error and "'z'" in result.error


async def test_an_undeclared_port_stops_the_flow_with_an_error() -> None:
    doc = flow("f", [node("s", "start"), node("l", "liar"), node("m", "mark")], [edge("s", "l"), edge("l", "m")])
    result, ctx = await _run(doc)
    assert "unknown port 'elsewhere'" in result.error and "seen" not in ctx.scope["memory"]


async def test_the_trace_keeps_its_first_steps_and_counts_the_rest() -> None:
    nodes = [
        node("s", "start"),
        node("inc", "increment", field="memory@n"),
        node("more", "if", condition="memory@n < 50"),
    ]
    doc = flow("f", nodes, [edge("s", "inc"), edge("inc", "more"), edge("more", "inc", port="true")])
    result, ctx = await _run(doc, FlowLimits(trace_steps=10))
    assert result.error is None and ctx.scope["memory"]["n"] == 50
    assert len(result.steps) == 10 and result.truncated == 1 + 50 * 2 - 10


async def test_resume_fires_the_port_of_the_paused_node() -> None:
    nodes = [node("s", "start"), node("p", "pause", wait=5), node("m", "mark")]
    doc = flow("f", nodes, [edge("s", "p"), edge("p", "m", port="output")])
    first, ctx = await _run(doc)
    assert [s.node for s in first.steps] == ["s", "p"] and ctx.continuations[0].delay == 5
    resumed, ctx = await _run(doc, resume=("p", "output", {"kept": 1}))
    assert [s.node for s in resumed.steps] == ["m"] and resumed.steps[0].input == {"kept": 1}


@pytest.mark.parametrize("cycle", [["a", "b", "a"], ["a", "a"]])
def test_cycles_without_an_exit_are_refused(cycle: list[str]) -> None:
    nodes = [node("s", "start"), node("a", "mark"), node("b", "mark")]
    edges = [edge("s", "a"), edge("a", "b"), *[edge(x, y) for x, y in pairwise(cycle)]]
    with pytest.raises(InvalidInput, match="loop that can never end"):
        compile_flow(msgspec.convert(flow("f", nodes, edges), Flow), REGISTRY)


def test_an_error_port_is_not_a_way_out_of_a_loop() -> None:
    nodes = [node("s", "start"), node("a", "increment", field="memory@n"), node("b", "mark")]
    edges = [edge("s", "a"), edge("a", "b"), edge("b", "a")]
    with pytest.raises(InvalidInput, match="loop that can never end"):
        compile_flow(msgspec.convert(flow("f", nodes, edges), Flow), REGISTRY)


def test_every_action_has_a_docstring_and_a_unique_id() -> None:
    with pytest.raises(ValueError, match="two actions"):
        ActionRegistry([Mark, Mark])
    assert len(ActionRegistry(ACTIONS)) == len(ACTIONS)


async def test_the_time_bound_also_stops_actions_that_never_yield() -> None:
    nodes = [
        node("s", "start"),
        node("inc", "increment", field="memory@n"),
        node("more", "if", condition="memory@n > 0"),
    ]
    doc = flow("f", nodes, [edge("s", "inc"), edge("inc", "more"), edge("more", "inc", port="true")])
    result, _ = await _run(doc, FlowLimits(max_seconds=0.0, max_steps=10**9))
    assert "workflows.max_seconds" in result.error
