"""Rules and flows: which events start which workflow, and the workflow graph itself.

Field names follow Tracardi's documents where it has them (``event_type``, ``source``, ``flow`` on a rule;
``flowGraph.nodes`` / ``flowGraph.edges``, ``sourceHandle`` / ``targetHandle`` on a flow); a node names its
action by our action id and carries the action's config (Tracardi's ``data.spec.init``) as ``config``.

Pure: the structural checks here need no action registry. The engine's validator adds what needs one (known
actions, their ports and configs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracardi.domain.common import NamedEntity
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.event import normalize_event_type

_f = msgspec.field
MAX_NODES = 500
MAX_EDGES = 2000
MAX_ID = 200
MAX_DEPTH = 32


class Rule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Routes events to a flow: events of ``event_type`` from ``source`` (None: any source) whose ``condition``
    (TQL, empty: always) holds run ``flow``."""

    id: str
    name: str = ""
    description: str = ""
    event_type: NamedEntity
    source: NamedEntity | None = None
    flow: NamedEntity
    enabled: bool = True
    condition: str = ""
    tags: list[str] = _f(default_factory=lambda: ["General"])
    timestamp: datetime | None = None


class FlowNode(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One step of a flow: an action and its configuration."""

    id: str
    action: str
    name: str = ""
    config: dict[str, Any] = {}
    position: dict[str, float] | None = None


class FlowEdge(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Carries what ``source`` fires on its output port ``sourceHandle`` into ``target``'s input port."""

    id: str = ""
    source: str
    source_handle: str = _f(default="payload", name="sourceHandle")
    target: str
    target_handle: str = _f(default="payload", name="targetHandle")


class FlowGraph(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nodes: list[FlowNode] = []
    edges: list[FlowEdge] = []


class Flow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A workflow: a graph of actions. A ``draft`` is stored with structural checks only and never run."""

    id: str
    name: str = ""
    description: str = ""
    type: str = "collection"
    tags: list[str] = _f(default_factory=lambda: ["General"])
    enabled: bool = True
    draft: bool = False
    flow_graph: FlowGraph = _f(default_factory=FlowGraph, name="flowGraph")
    timestamp: datetime | None = None


def _loc(*parts: str | int) -> list[str | int]:
    return ["body", *parts]


def check_rule(rule: Rule) -> Rule:
    """Trim and lower-case the ids; raises InvalidInput naming the field."""
    errors: list[FieldError] = []
    rule_id = rule.id.strip()
    if not rule_id or len(rule_id) > MAX_ID:
        errors.append(FieldError(_loc("id"), f"must be 1 to {MAX_ID} characters"))
    if not rule.event_type.id.strip():
        errors.append(FieldError(_loc("event_type", "id"), "must not be empty"))
    if not rule.flow.id.strip():
        errors.append(FieldError(_loc("flow", "id"), "must not be empty"))
    if errors:
        raise InvalidInput(f"Invalid rule: {errors[0].msg} at {'.'.join(map(str, errors[0].loc[1:]))}.", errors)
    source = rule.source
    if source is not None and not source.id.strip():
        source = None
    return msgspec.structs.replace(
        rule,
        id=rule_id,
        name=rule.name or rule_id,
        event_type=NamedEntity(id=normalize_event_type(rule.event_type.id), name=rule.event_type.name),
        source=NamedEntity(id=source.id.strip().lower(), name=source.name) if source else None,
        flow=NamedEntity(id=rule.flow.id.strip(), name=rule.flow.name),
    )


def check_structure(flow: Flow) -> None:
    """Ids present and unique, sizes bounded, edges between existing nodes; raises InvalidInput naming the field."""
    if not flow.id.strip() or len(flow.id) > MAX_ID:
        raise InvalidInput("Invalid flow id.", [FieldError(_loc("id"), f"must be 1 to {MAX_ID} characters")])
    nodes, edges = flow.flow_graph.nodes, flow.flow_graph.edges
    if len(nodes) > MAX_NODES or len(edges) > MAX_EDGES:
        raise InvalidInput(
            f"A flow may have at most {MAX_NODES} nodes and {MAX_EDGES} edges.",
            [FieldError(_loc("flowGraph"), f"at most {MAX_NODES} nodes and {MAX_EDGES} edges")],
        )
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        if not node.id or len(node.id) > MAX_ID or node.id in seen:
            raise node_error(i, node.id, "id", "node ids must be unique, 1 to 200 characters")
        if too_deep(node.config, MAX_DEPTH):
            raise node_error(i, node.id, "config", f"nested deeper than {MAX_DEPTH} levels")
        seen.add(node.id)
    for i, edge in enumerate(edges):
        for end in ("source", "target"):
            if getattr(edge, end) not in seen:
                raise InvalidInput(
                    f"Edge {i} ({edge.id or 'no id'}) points at a node that does not exist: {getattr(edge, end)!r}.",
                    [FieldError(_loc("flowGraph", "edges", i, end), "no node has this id")],
                )


def too_deep(value: Any, limit: int) -> bool:
    """Whether nested dicts/lists go deeper than ``limit`` levels (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def node_error(index: int, node_id: str, field: str, msg: str) -> InvalidInput:
    """A 422 naming the node (its index and id) and the field of it that is wrong."""
    return InvalidInput(
        f"Node {node_id!r}: {field}: {msg}", [FieldError(_loc("flowGraph", "nodes", index, *field.split(".")), msg)]
    )


class TraceStep(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One run of one node: what came in on which port, what it fired, how long it took, what went wrong."""

    node: str
    action: str
    port: str = ""
    input: Any = None
    output: dict[str, Any] = {}
    duration_ms: float = 0.0
    error: str | None = None


class FlowTrace(msgspec.Struct, kw_only=True):
    """The debug record of one flow run for one event (stored for events tracked with ``debug``)."""

    id: str
    event_id: str
    flow_id: str
    rule_id: str = ""
    profile_id: str | None = None
    time: datetime | None = None
    steps: list[TraceStep] = []
    truncated: int = 0
    """Steps run but not recorded (the trace keeps the first ``workflows.trace_steps``)."""
    error: str | None = None
    """Why the run stopped early (a failing node without an error port, the step or time bound), if it did."""
    logs: list[dict[str, str]] = []
