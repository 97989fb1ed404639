"""Rules and flows: their administration (validated on save) and the cached lookups of the tracker's hot path."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import msgspec

from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.flow import Flow, FlowTrace, Rule, check_rule, check_structure
from tracardi.domain.query import Eq, Sort
from tracardi.engine._stored import delete_or_missing, get_or_missing
from tracardi.engine.workflow.actions.condition import check_condition
from tracardi.engine.workflow.compile import CompiledFlow, compile_flow
from tracardi.engine.workflow.registry import ActionRegistry
from tracardi.log import get_logger
from tracardi.storage import FLOW_TRACES, FLOWS, RULES, DocumentStore, Page

MAX_RULES = 10_000
log = get_logger("workflow")


class FlowService:
    """CRUD of rules and flows, and what the tracker asks per event: the rules of an event type and source, and
    compiled flows. Both are cached in process for ``ttl`` seconds; a change made here is seen at once here and
    within ``ttl`` on other hosts."""

    def __init__(
        self,
        store: DocumentStore,
        registry: ActionRegistry,
        *,
        ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.registry = registry
        self._ttl = ttl
        self._clock = clock
        self._rules: tuple[float, dict[str, list[Rule]]] | None = None
        self._flows: dict[str, tuple[float, CompiledFlow | None]] = {}

    # -- the hot path ---------------------------------------------------------------------------------------------

    async def rules_for(self, event_type: str, source_id: str) -> list[Rule]:
        """Enabled rules routing this event type from this source (rules without a source match any)."""
        by_type = await self._rule_index()
        rules = by_type.get(event_type)
        if not rules:
            return []
        return [r for r in rules if r.source is None or r.source.id == source_id]

    async def has_rules(self) -> bool:
        return bool(await self._rule_index())

    async def _rule_index(self) -> dict[str, list[Rule]]:
        cached = self._rules
        now = self._clock()
        if cached is not None and cached[0] > now:
            return cached[1]
        index: dict[str, list[Rule]] = {}
        async for page in self._store.scan(RULES):
            for item in page:
                rule = item.doc
                if rule.enabled:
                    index.setdefault(rule.event_type.id, []).append(rule)
        for rules in index.values():
            rules.sort(key=lambda r: r.id)
        self._rules = (now + self._ttl, index)
        return index

    async def compiled(self, flow_id: str) -> CompiledFlow | None:
        """The enabled, published flow with this id, compiled; None when there is none (or it no longer compiles)."""
        now = self._clock()
        hit = self._flows.get(flow_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await self._store.get(FLOWS, flow_id)
        compiled: CompiledFlow | None = None
        if found is not None and found.doc.enabled and not found.doc.draft:
            try:
                compiled = compile_flow(found.doc, self.registry)
            except InvalidInput as exc:  # saved by a version with other actions: the rule is skipped, loudly
                log.error("flow_does_not_compile", flow_id=flow_id, error=exc.detail)
        if len(self._flows) > 10_000:
            self._flows.clear()
        self._flows[flow_id] = (now + self._ttl, compiled)
        return compiled

    # -- administration -------------------------------------------------------------------------------------------

    async def save_rule(self, rule: Rule, now: datetime) -> Rule:
        rule = check_rule(rule)
        if rule.condition:
            try:
                check_condition(rule.condition)
            except ValueError as exc:
                raise InvalidInput(
                    f"Invalid rule condition: {exc}", [FieldError(["body", "condition"], str(exc))]
                ) from exc
        if await self._store.get(FLOWS, rule.flow.id) is None:
            msg = "no flow has this id; save the flow first"
            raise InvalidInput(f"Rule `{rule.id}`: {msg}.", [FieldError(["body", "flow", "id"], msg)])
        if await self._store.get(RULES, rule.id) is None and await self._store.count(RULES) >= MAX_RULES:
            raise InvalidInput(f"At most {MAX_RULES} rules.", [FieldError(["body", "id"], "too many rules")])
        rule = msgspec.structs.replace(rule, timestamp=now)
        await self._store.put(RULES, rule.id, rule)
        self._rules = None
        return rule

    async def get_rule(self, rule_id: str) -> Rule:
        return await get_or_missing(self._store, RULES, rule_id.strip(), f"Rule `{rule_id[:200]}`")

    async def delete_rule(self, rule_id: str) -> None:
        await delete_or_missing(self._store, RULES, rule_id.strip(), f"Rule `{rule_id[:200]}`")
        self._rules = None

    async def list_rules(self, *, limit: int = 20, after: str | None = None) -> Page[Rule]:
        return await self._store.query(RULES, None, sort=(Sort(field="name"),), limit=limit, after=after)

    def check_flow(self, flow: Flow) -> Flow:
        """Trim the id and validate: a draft structurally, a published flow fully (raises InvalidInput)."""
        flow = msgspec.structs.replace(flow, id=flow.id.strip(), name=flow.name or flow.id.strip())
        if flow.draft:
            check_structure(flow)
        else:
            compile_flow(flow, self.registry)
        return flow

    async def save_flow(self, flow: Flow, now: datetime) -> Flow:
        flow = msgspec.structs.replace(self.check_flow(flow), timestamp=now)
        await self._store.put(FLOWS, flow.id, flow)
        self._flows.pop(flow.id, None)
        return flow

    async def get_flow(self, flow_id: str) -> Flow:
        return await get_or_missing(self._store, FLOWS, flow_id.strip(), f"Flow `{flow_id[:200]}`")

    async def delete_flow(self, flow_id: str) -> None:
        await delete_or_missing(self._store, FLOWS, flow_id.strip(), f"Flow `{flow_id[:200]}`")
        self._flows.pop(flow_id.strip(), None)

    async def list_flows(self, *, limit: int = 20, after: str | None = None) -> Page[Flow]:
        return await self._store.query(FLOWS, None, sort=(Sort(field="name"),), limit=limit, after=after)

    async def traces(self, event_id: str) -> list[FlowTrace]:
        """The flow traces stored for an event (tracked with ``debug``), oldest first."""
        page = await self._store.query(
            FLOW_TRACES, Eq(field="event_id", value=event_id), sort=(Sort(field="time"),), limit=100
        )
        return [v.doc for v in page.items]
