"""Validate a flow document against the action registry and compile it into what the runner walks.

Checked on save (each failure a 422 naming the node or edge and its field): structure (ids, sizes, edges between
existing nodes), known actions, configs (each action's config Struct), ports on both ends of every edge, at
least one start node, every node reachable from a start node, and loops.

A legal loop: every cycle must pass through a node that can leave it, i.e. a node with an output port other than
``error`` none of whose edges stay in the cycle (an ``if`` whose ``false`` port leads out, or ends the branch).
Such a loop may still never leave at run time; the runner's step and time bounds stop it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tracardi.domain.errors import FieldError, InvalidInput, located
from tracardi.domain.flow import Flow, check_structure, node_error
from tracardi.engine.workflow.action import Action
from tracardi.engine.workflow.registry import ActionRegistry

Target = tuple[int, str]


@dataclass(frozen=True, slots=True)
class Node:
    """A node ready to run: its action built from its config, and where each output port leads."""

    id: str
    index: int
    action: Action[Any]
    out: Mapping[str, tuple[Target, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    """A validated flow: nodes by index, the start nodes, node ids to indexes."""

    flow: Flow
    nodes: tuple[Node, ...]
    starts: tuple[int, ...]
    by_id: Mapping[str, int]
    debug: bool = False
    """A start node asks for its runs to be traced (Tracardi's Start ``debug`` option)."""


def _config_error(index: int, node_id: str, exc: msgspec.ValidationError) -> InvalidInput:
    message, path = located(str(exc))
    parts: list[str | int] = ["body", "flowGraph", "nodes", index, "config", *path]
    where = ".".join(str(p) for p in parts[5:])
    return InvalidInput(
        f"Node {node_id!r}: config{'.' + where if where else ''}: {message}", [FieldError(parts, message)]
    )


def _build_nodes(flow: Flow, registry: ActionRegistry) -> list[Action[Any]]:
    actions: list[Action[Any]] = []
    for i, node in enumerate(flow.flow_graph.nodes):
        cls = registry.get(node.action)
        if cls is None:
            raise node_error(i, node.id, "action", f"unknown action {node.action[:100]!r}; see GET /api/actions")
        try:
            actions.append(registry.build(cls, node.config))
        except msgspec.ValidationError as exc:
            raise _config_error(i, node.id, exc) from exc
    return actions


def _wire(flow: Flow, actions: list[Action[Any]], index: Mapping[str, int]) -> list[dict[str, list[Target]]]:
    out: list[dict[str, list[Target]]] = [{} for _ in actions]
    for i, edge in enumerate(flow.flow_graph.edges):
        src, dst = index[edge.source], index[edge.target]
        if edge.source_handle not in type(actions[src]).outputs:
            raise _edge_error(i, "sourceHandle", f"node {edge.source!r} has no output port {edge.source_handle!r}")
        if edge.target_handle not in type(actions[dst]).inputs:
            raise _edge_error(i, "targetHandle", f"node {edge.target!r} has no input port {edge.target_handle!r}")
        targets = out[src].setdefault(edge.source_handle, [])
        if (dst, edge.target_handle) not in targets:
            targets.append((dst, edge.target_handle))
    return out


def _edge_error(index: int, field_name: str, msg: str) -> InvalidInput:
    return InvalidInput(f"Edge {index}: {msg}", [FieldError(["body", "flowGraph", "edges", index, field_name], msg)])


def _successors(out: list[dict[str, list[Target]]]) -> list[set[int]]:
    return [{t for targets in ports.values() for t, _ in targets} for ports in out]


def _reachable(starts: list[int], succ: list[set[int]]) -> set[int]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for nxt in succ[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _finish_order(succ: list[set[int]]) -> list[int]:
    """Nodes in the order a depth-first walk finishes them (iterative: flows may be long chains)."""
    order: list[int] = []
    seen = [False] * len(succ)
    for root in range(len(succ)):
        if seen[root]:
            continue
        seen[root] = True
        stack = [(root, iter(succ[root]))]
        while stack:
            node, children = stack[-1]
            child = next((c for c in children if not seen[c]), None)
            if child is None:
                stack.pop()
                order.append(node)
            else:
                seen[child] = True
                stack.append((child, iter(succ[child])))
    return order


def _components(succ: list[set[int]]) -> list[list[int]]:
    """Strongly connected components that hold a cycle (Kosaraju)."""
    pred: list[list[int]] = [[] for _ in succ]
    for a, targets in enumerate(succ):
        for b in targets:
            pred[b].append(a)
    comp = [-1] * len(succ)
    found: list[list[int]] = []
    for root in reversed(_finish_order(succ)):
        if comp[root] != -1:
            continue
        members, stack = [], [root]
        comp[root] = len(found)
        while stack:
            node = stack.pop()
            members.append(node)
            for p in pred[node]:
                if comp[p] == -1:
                    comp[p] = comp[root]
                    stack.append(p)
        found.append(members)
    return [sorted(m) for m in found if len(m) > 1 or m[0] in succ[m[0]]]


def _check_loops(flow: Flow, actions: list[Action[Any]], out: list[dict[str, list[Target]]]) -> None:
    for members in _components(_successors(out)):
        inside = set(members)
        can_leave = any(
            not any(t in inside for t, _ in out[m].get(port, ()))
            for m in members
            for port in type(actions[m]).outputs
            if port != "error"
        )
        if not can_leave:
            first = members[0]
            raise node_error(
                first,
                flow.flow_graph.nodes[first].id,
                "id",
                "this node is in a loop that can never end: a loop must pass through a node with a port that "
                "leads out of it (e.g. an if whose other port leaves the loop)",
            )


def compile_flow(flow: Flow, registry: ActionRegistry) -> CompiledFlow:
    """Validate ``flow`` and build it; raises InvalidInput naming the node or edge and the field."""
    check_structure(flow)
    actions = _build_nodes(flow, registry)
    index = {node.id: i for i, node in enumerate(flow.flow_graph.nodes)}
    out = _wire(flow, actions, index)
    starts = [i for i, a in enumerate(actions) if type(a).start]
    if not starts:
        raise InvalidInput(
            "A flow needs a start node.", [FieldError(["body", "flowGraph", "nodes"], "no node runs a start action")]
        )
    reachable = _reachable(starts, _successors(out))
    for i, node in enumerate(flow.flow_graph.nodes):
        if i not in reachable:
            raise node_error(i, node.id, "id", "no edge leads to this node from a start node")
    _check_loops(flow, actions, out)
    nodes = tuple(
        Node(id=n.id, index=i, action=actions[i], out={p: tuple(t) for p, t in out[i].items()})
        for i, n in enumerate(flow.flow_graph.nodes)
    )
    debug = any(getattr(actions[i].config, "debug", False) is True for i in starts)
    return CompiledFlow(flow=flow, nodes=nodes, starts=tuple(starts), by_id=index, debug=debug)
