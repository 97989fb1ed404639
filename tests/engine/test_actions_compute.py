"""Computing actions run on a FlowContext directly (their pure parts): intervals, string, math and date operations,
regex matches with their timeout, templates and response/ux answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from tracardi.domain.common import Entity
from tracardi.domain.event import Event
from tracardi.domain.profile import new_profile
from tracardi.engine.workflow import ACTIONS, ActionError, ActionRegistry, FlowContext, Result
from tracardi.engine.workflow.actions._interval import parse_interval

NOW = datetime(2026, 3, 4, 12, 30, tzinfo=UTC)  # a Wednesday
REGISTRY = ActionRegistry(ACTIONS)


def _ctx(**properties: Any) -> FlowContext:
    profile = new_profile("p1", NOW - timedelta(days=2))
    event = Event(id="e1", type="t", source=Entity(id="s"), properties=properties)
    ctx = FlowContext(profile=profile, session=None, event=event, flow={"id": "f"}, now=NOW)
    ctx.scope["payload"] = {}
    return ctx


async def run(action_id: str, ctx: FlowContext, **config: Any) -> Result:
    cls = REGISTRY.get(action_id)
    assert cls is not None
    fired = await REGISTRY.build(cls, config).run(ctx.scope["payload"], ctx)
    assert isinstance(fired, Result)
    return fired


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h 30m", 9000), ("1.5d", 129600), ("1w", 604800)]
)
def test_intervals(text: str, seconds: int) -> None:
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5", "5 y", "1d x", "99999999d"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_interval(text)


@pytest.mark.parametrize(
    ("operation", "value", "extra", "result"),
    [
        ("upper", "abc", {}, "ABC"),
        ("lower", "AbC", {}, "abc"),
        ("capitalize", "hello world", {}, "Hello world"),
        ("title", "hello world", {}, "Hello World"),
        ("trim", "  x  ", {}, "x"),
        ("trim", "--x--", {"chars": "-"}, "x"),
        ("split", "a;b;c", {"separator": ";"}, ["a", "b", "c"]),
        ("join", ["a", 1, "c"], {"separator": "-"}, "a-1-c"),
        ("replace", "a-b-c", {"old": "-", "new": "+"}, "a+b+c"),
        ("length", "żółw", {}, 4),
        ("slug", "  Hello, Wörld! ", {}, "hello-world"),
        ("reverse", "abc", {}, "cba"),
        ("upper", 12, {}, "12"),
    ],
)
async def test_string_operations(operation: str, value: Any, extra: dict, result: Any) -> None:
    ctx = _ctx(v=value)
    fired = await run("string-operation", ctx, operation=operation, source="event@properties.v", **extra)
    assert fired == Result("payload", {"result": result})


@pytest.mark.parametrize(("operation", "value"), [("upper", None), ("upper", ["a"]), ("join", "a"), ("lower", True)])
async def test_string_operations_on_the_wrong_kind_fail(operation: str, value: Any) -> None:
    with pytest.raises(ActionError):
        await run("string-operation", _ctx(v=value), operation=operation, source="event@properties.v")


async def test_math_writes_a_rounded_result_to_a_target() -> None:
    ctx = _ctx(price="19.99", qty=3)
    expr = "event@properties.price * event@properties.qty * 1.23"
    fired = await run("math-operation", ctx, expression=expr, target="profile@traits.total", round=2)
    assert ctx.require_profile().traits["total"] == 73.76
    assert fired == Result("payload", {})
    await run("math-operation", ctx, expression="profile@traits.total / 3", round=0)
    assert ctx.scope["payload"] == {"result": 25}


async def test_math_division_by_zero_fails() -> None:
    with pytest.raises(ActionError, match="division by zero"):
        await run("math-operation", _ctx(n=0), expression="1 / event@properties.n")


@pytest.mark.parametrize(
    ("config", "result"),
    [
        ({"operation": "now"}, NOW.isoformat()),
        ({"operation": "now", "timezone": "Europe/Warsaw"}, "2026-03-04T13:30:00+01:00"),
        ({"operation": "add", "source": "event@properties.d", "interval": "1d 1h"}, "2026-03-02T01:00:00+00:00"),
        ({"operation": "subtract", "source": "event@properties.d", "interval": "30m"}, "2026-02-28T23:30:00+00:00"),
        ({"operation": "format", "source": "event@properties.d", "format": "%d.%m.%Y"}, "01.03.2026"),
        ({"operation": "difference", "source": "event@properties.d", "unit": "days"}, 3.5208333333333335),
        ({"operation": "difference", "source": "profile@metadata.time.insert", "unit": "hours"}, 48.0),
        ({"operation": "weekday", "source": "event@properties.d"}, 7),
        ({"operation": "weekday", "source": "event@properties.ts"}, 3),
        (
            {"operation": "timezone", "source": "event@properties.d", "timezone": "Asia/Tokyo"},
            "2026-03-01T09:00:00+09:00",
        ),
    ],
)
async def test_date_operations(config: dict, result: Any) -> None:
    ctx = _ctx(d="2026-03-01T00:00:00", ts=NOW.timestamp())
    await run("date-operation", ctx, **config)
    assert ctx.scope["payload"] == {"result": result}


@pytest.mark.parametrize("value", ["yesterday", None, [1], 1e20])
async def test_unreadable_dates_fail(value: Any) -> None:
    with pytest.raises(ActionError):
        await run("date-operation", _ctx(d=value), operation="weekday", source="event@properties.d")


async def test_regex_match_puts_groups_on_the_payload() -> None:
    ctx = _ctx(url="https://shop.example.com/p/123?ref=mail")
    pattern = r"/p/(?P<sku>\d+)\?ref=(\w+)"
    fired = await run("regex-match", ctx, pattern=pattern, source="event@properties.url")
    assert fired == Result("matched", {"match": "/p/123?ref=mail", "groups": ["123", "mail"], "named": {"sku": "123"}})
    fired = await run("regex-match", ctx, pattern=r"\d", source="event@properties.url", find_all=True)
    assert [m["match"] for m in fired.value["matches"]] == ["1", "2", "3"]
    assert (await run("regex-match", ctx, pattern="nope", source="event@properties.url")).port == "not-matched"


async def test_a_catastrophic_pattern_is_stopped_by_its_timeout() -> None:
    ctx = _ctx(text="a" * 5000 + "!")
    with pytest.raises(ActionError, match=r"longer than 0\.01 s"):
        await run("regex-match", ctx, pattern="(a|aa)+$", source="event@properties.text", timeout=0.01)


async def test_regex_input_over_the_cap_fails_before_matching() -> None:
    with pytest.raises(ActionError, match="max_input"):
        await run("regex-match", _ctx(t="x" * 101), pattern="x", source="event@properties.t", max_input=100)


@pytest.mark.parametrize(
    "config",
    [
        {"pattern": "(", "source": "event@x"},
        {"pattern": "x" * 1001, "source": "event@x"},
        {"pattern": "x", "source": "event@x", "timeout": 5},
        {"pattern": "x", "source": "event@x", "max_input": 10**6},
    ],
)
def test_bad_regex_configs_are_refused(config: dict) -> None:
    cls = REGISTRY.get("regex-match")
    assert cls is not None
    with pytest.raises(msgspec.ValidationError):
        REGISTRY.build(cls, config)


async def test_template_ux_and_response_fill_references() -> None:
    ctx = _ctx(name="Ann", items=[1, 2])
    await run("template", ctx, template="Hi {{ event@properties.name }}{{ event@properties.none }}!")
    assert ctx.scope["payload"] == {"result": "Hi Ann!"}
    await run("add-ux", ctx, tag="tracardi-popup", props={"title": "For {{event@properties.name}}"}, content="x")
    assert ctx.ux == [{"tag": "tracardi-popup", "props": {"title": "For Ann"}, "content": "x"}]
    await run("set-response", ctx, key="Next Offer", body={"items": "{{ event@properties.items }}", "n": 1})
    await run("set-response", ctx, key="greeting", source="payload@result")
    assert ctx.response == {"next_offer": {"items": [1, 2], "n": 1}, "greeting": "Hi Ann!"}
