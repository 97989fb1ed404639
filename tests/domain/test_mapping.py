"""Event-to-profile mapping operations and event reshaping, on in-memory events and profiles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tracardi.domain.common import Entity
from tracardi.domain.event import Event
from tracardi.domain.mapping import MappingPair, apply_pair
from tracardi.domain.paths import event_path, profile_path
from tracardi.domain.profile import new_profile
from tracardi.domain.reshape import EventReshaping, reshape_event


def _event(**properties: Any) -> Event:
    return Event(id="e1", type="purchase", source=Entity(id="web"), properties=properties)


@pytest.mark.parametrize(
    ("op", "before", "value", "after"),
    [
        ("set", "old", "new", "new"),
        ("set", None, 0, 0),
        ("set", None, False, False),
        ("append", ["a"], "a", ["a", "a"]),
        ("append", "a", ["b", "c"], ["a", "b", "c"]),
        ("add", ["a"], "a", ["a"]),
        ("add", ["a"], ["a", "b"], ["a", "b"]),
        ("add", None, "x", ["x"]),
        ("increment", None, 5, 5),
        ("increment", 2, 2.5, 4.5),
        ("only-if-empty", None, "x", "x"),
        ("only-if-empty", "", "x", "x"),
        ("only-if-empty", [], "x", "x"),
        ("only-if-empty", "kept", "x", "kept"),
    ],
)
def test_mapping_operations(op: str, before: Any, value: Any, after: Any) -> None:
    profile = new_profile("p", datetime(2024, 1, 1, tzinfo=UTC))
    if before is not None:
        profile.traits["x"] = before
    pair = MappingPair(event="properties.v", profile="traits.x", op=op)  # type: ignore[arg-type]
    changed = apply_pair(_event(v=value), profile, pair)
    assert profile.traits["x"] == after
    assert changed == (before != after)


def test_missing_or_null_event_values_change_nothing() -> None:
    profile = new_profile("p", datetime(2024, 1, 1, tzinfo=UTC))
    for event in (_event(), _event(v=None)):
        assert not apply_pair(event, profile, MappingPair(event="properties.v", profile="traits.x"))
    assert profile.traits == {}


def test_values_are_converted_to_the_typed_profile_field_or_refused() -> None:
    profile = new_profile("p", datetime(2024, 1, 1, tzinfo=UTC))
    apply_pair(_event(v="42.5"), profile, MappingPair(event="properties.v", profile="data.job.salary"))
    assert profile.data.job.salary == 42.5
    apply_pair(_event(v=3), profile, MappingPair(event="properties.v", profile="stats.counters.buys", op="increment"))
    apply_pair(_event(v=3), profile, MappingPair(event="properties.v", profile="stats.counters.buys", op="increment"))
    assert profile.stats.counters == {"buys": 6.0}
    with pytest.raises(msgspec.ValidationError):
        apply_pair(_event(v={"a": 1}), profile, MappingPair(event="properties.v", profile="data.contact.email.main"))
    with pytest.raises(TypeError):
        apply_pair(_event(v="x"), profile, MappingPair(event="properties.v", profile="traits.n", op="increment"))
    assert profile.data.contact.email.main is None and "n" not in profile.traits


@pytest.mark.parametrize(
    "path",
    ["id", "ids", "metadata.time.insert", "session@id", "data.nope", "data.contact.email.main.deeper", "traits..x", ""],
)
def test_profile_paths_outside_what_configuration_may_write_are_refused(path: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message; the API test checks them
        profile_path(path)


def test_event_paths() -> None:
    assert event_path("event@properties.email") == "properties.email"
    assert event_path("type") == "type"
    with pytest.raises(ValueError, match="can only write"):
        event_path("type", writable=True)
    with pytest.raises(ValueError, match="can only write"):
        event_path("properties", writable=True)


def test_reshaping_copies_then_renames_then_sets_the_type() -> None:
    event = _event(mail="a@b.c", price=10)
    reshaping = EventReshaping(
        id="r",
        event_type="purchase",
        copy={"properties.price": "traits.price"},
        rename={"properties.mail": "properties.contact.email", "properties.absent": "properties.x"},
        type="Order Placed",
    )
    reshape_event(event, reshaping)
    assert event.properties == {"price": 10, "contact": {"email": "a@b.c"}}
    assert event.traits == {"price": 10}
    assert (event.type, event.name) == ("order-placed", "Order Placed")
