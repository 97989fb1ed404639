"""The tracker's workflow step with a test action: a write by another host between the tracker's read and its
write makes the attempt conflict; the retry re-runs the flow on fresh data, so the flow's change lands once and
the other write is kept. Flows' ``response`` and ``ux`` reach the tracking answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import msgspec
import pytest

from tests.api.flows_helpers import chain, edge, flow, node, rule
from tests.api.test_actions_webhook import Endpoint, endpoint
from tests.conftest import SettingsFactory, payload
from tracardi.domain.flow import Flow, Rule
from tracardi.domain.payload import TrackerPayload
from tracardi.engine import Tracker
from tracardi.engine.workflow import (
    ACTIONS,
    ActionDeps,
    ActionRegistry,
    Fired,
    FlowContext,
    FlowService,
    Result,
    Workflows,
)
from tracardi.engine.workflow.action import Action, NoConfig
from tracardi.services import Services, open_services
from tracardi.storage import PROFILES

NOW = datetime(2026, 1, 1, tzinfo=UTC)
__all__ = ["endpoint"]  # the fixture


class OtherHostWrites(Action[NoConfig]):
    """Test action: the first time it runs, another writer bumps ``traits.other`` on the stored profile."""

    id = "other-host-writes"
    name = "Other host writes"
    store: ClassVar[Any] = None
    fired: ClassVar[int] = 0

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        cls = type(self)
        cls.fired += 1
        if cls.fired == 1:
            profile = ctx.require_profile()
            stored = await cls.store.get(PROFILES, profile.id)
            stored.doc.traits["other"] = stored.doc.traits.get("other", 0) + 1
            await cls.store.put(PROFILES, profile.id, stored.doc, if_version=stored.version)
        return Result("payload", payload)


class Answer(Action[NoConfig]):
    """Test action: answers the client."""

    id = "answer"
    name = "Answer"

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        ctx.response["offer"] = {"code": "X1"}
        ctx.ux.append({"tag": "div", "content": "hi"})
        return Result("payload", payload)


@pytest.fixture
async def services(make_settings: SettingsFactory) -> AsyncIterator[Services]:
    async with open_services(make_settings()) as svc:
        yield svc


async def _tracker(
    svc: Services, flow_doc: dict[str, Any], event_type: str, http: httpx.AsyncClient | None = None
) -> Tracker:
    flows = FlowService(svc.store, ActionRegistry([*ACTIONS, OtherHostWrites, Answer]))
    await flows.save_flow(msgspec.convert(flow_doc, Flow), NOW)
    await flows.save_rule(msgspec.convert(rule("r", event_type, flow_doc["id"]), Rule), NOW)
    workflows = Workflows(flows, deps=ActionDeps(http=http))
    return Tracker(svc.store, svc.sources, svc.locks, metrics=svc.metrics, workflows=workflows)


def _payload(body: dict[str, Any]) -> TrackerPayload:
    return msgspec.convert(body, TrackerPayload)


async def test_a_retried_attempt_reruns_the_flow_on_fresh_data_without_doubling_it(services: Services) -> None:
    OtherHostWrites.store, OtherHostWrites.fired = services.store, 0
    doc = chain("f", node("w", "other-host-writes"), node("inc", "increment", field="profile@stats.counters.n"))
    tracker = await _tracker(services, doc, "buy")
    first = await tracker.track(_payload(payload({"type": "seed"})))
    assert first.profile is not None and first.session is not None
    ids = {"profile": {"id": first.profile.id}, "session": {"id": first.session.id}}
    await tracker.track(_payload(payload({"type": "buy"}, **ids)))
    assert OtherHostWrites.fired == 2  # the conflicting attempt and its retry
    stored = await services.store.get(PROFILES, first.profile.id)
    assert stored is not None
    assert stored.doc.stats.counters == {"n": 1} and stored.doc.traits == {"other": 1}


async def test_a_retried_attempt_does_not_call_a_webhook_again(services: Services, endpoint: Endpoint) -> None:
    """The retry re-runs the flow, but the endpoint got its call in the first attempt: the retry takes that
    answer instead of calling again (a second order, a second e-mail)."""
    OtherHostWrites.store, OtherHostWrites.fired = services.store, 0
    hook = node("hook", "webhook", url=endpoint.url + "/hook/u1", method="POST", body={"n": 1})
    reply = node("reply", "copy-data", copy={"profile@traits.reply": "payload@body.got"})
    nodes = [node("start", "start"), node("w", "other-host-writes"), hook, reply]
    edges = [edge("start", "w"), edge("w", "hook"), edge("hook", "reply", port="response")]
    async with httpx.AsyncClient() as http:
        tracker = await _tracker(services, flow("f", nodes, edges), "buy", http)
        first = await tracker.track(_payload(payload({"type": "seed"})))
        assert first.profile is not None and first.session is not None
        ids = {"profile": {"id": first.profile.id}, "session": {"id": first.session.id}}
        await tracker.track(_payload(payload({"type": "buy"}, **ids)))
    assert OtherHostWrites.fired == 2, "the first attempt conflicted and was retried"
    assert endpoint.calls == {"/hook/u1": 1}
    stored = await services.store.get(PROFILES, first.profile.id)
    assert stored is not None
    assert stored.doc.traits == {"other": 1, "reply": {"n": 1}}, "the retry went on with the first answer"


async def test_flows_response_and_ux_are_returned_to_the_client(services: Services) -> None:
    tracker = await _tracker(services, chain("a", node("x", "answer")), "page-view")
    result = await tracker.track(_payload(payload()))
    assert result.response is not None
    assert result.response.response == {"offer": {"code": "X1"}}
    assert result.response.ux == [{"tag": "div", "content": "hi"}]
