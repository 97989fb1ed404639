"""Decoding broker messages: /track bodies and foreign shapes through a mapping (pure, no broker)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
import pytest

from tracardi.bridges import BridgeConfig, Delivery, InvalidMessage, Mapping, MessageDecoder, event_id

MAPPING = Mapping(
    event_type="kind",
    properties="data",
    profile_id="user.id",
    session_id="user.session",
    context="meta",
    time="at",
)


def delivery(doc: object, message_id: str = "m-1") -> Delivery:
    return Delivery(id=message_id, body=msgspec.json.encode(doc), redelivered=False)


def test_a_foreign_shape_becomes_one_event_through_the_mapping() -> None:
    decoder = MessageDecoder("orders", BridgeConfig(mapping=MAPPING))
    doc = {
        "kind": "purchase",
        "data": {"total": 12.5},
        "user": {"id": "p-9", "session": "s-3"},
        "meta": {"shop": "eu"},
        "at": "2026-11-01T10:00:00Z",
    }
    message_id, payload = decoder.decode(delivery(doc))
    [event] = payload.events
    assert (payload.source.id, event.type, event.properties, event.context) == (
        "orders",
        "purchase",
        {"total": 12.5},
        {"shop": "eu"},
    )
    assert payload.profile is not None and payload.profile.id == "p-9"
    assert payload.session is not None and payload.session.id == "s-3"
    assert event.time is not None and event.time.insert == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert event.id == event_id("orders", message_id, 0)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"data": {}}, "`kind` (the event type) is missing"),
        ({"kind": "  "}, "`kind` (the event type) is missing or empty"),
        ({"kind": ["a"]}, "`kind` must be a string"),
        ({"kind": "x", "data": [1]}, "`data` must be an object"),
        ({"kind": "x", "user": {"id": {"a": 1}}}, "`user.id` must be a string"),
        ({"kind": "x", "at": "yesterday"}, "`at` is not an ISO 8601 time"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_a_message_the_mapping_cannot_read_is_refused_naming_the_field(doc: object, reason: str) -> None:
    decoder = MessageDecoder("orders", BridgeConfig(mapping=MAPPING))
    with pytest.raises(InvalidMessage, match=re.escape(reason)):
        decoder.decode(delivery(doc))


def test_the_same_message_gets_the_same_event_ids_and_another_message_others() -> None:
    decoder = MessageDecoder("web", BridgeConfig())
    body = {"events": [{"type": "a"}, {"type": "b"}, {"type": "c", "id": "Given-Id"}]}
    _, once = decoder.decode(delivery(body, "m-1"))
    _, again = decoder.decode(delivery(body, "m-1"))
    _, other = decoder.decode(delivery(body, "m-2"))
    assert [e.id for e in once.events] == [e.id for e in again.events]
    assert once.events[2].id == "Given-Id"  # an id the producer chose is kept
    assert {e.id for e in once.events[:2]}.isdisjoint(e.id for e in other.events[:2])


def test_the_message_id_can_come_from_the_message() -> None:
    decoder = MessageDecoder("web", BridgeConfig(id_path="meta.uid"))
    body = {"events": [{"type": "a"}], "metadata": {"x": 1}, "meta": {"uid": "u-77"}}
    message_id, payload = decoder.decode(delivery(body, "broker-id"))
    assert message_id == "u-77"
    assert payload.events[0].id == event_id("web", "u-77", 0)
    with pytest.raises(InvalidMessage, match=re.escape("`meta.uid` (the message id) is missing")):
        decoder.decode(delivery({"events": [{"type": "a"}]}))


def test_a_track_body_may_leave_the_source_out_but_not_name_another() -> None:
    decoder = MessageDecoder("web", BridgeConfig())
    _, payload = decoder.decode(delivery({"events": [{"type": "a"}]}))
    assert payload.source.id == "web"
    _, payload = decoder.decode(delivery({"source": {"id": " WEB "}, "events": [{"type": "a"}]}))
    assert payload.source.id == "web"
    with pytest.raises(InvalidMessage, match="names source `other`"):
        decoder.decode(delivery({"source": {"id": "other"}, "events": [{"type": "a"}]}))
