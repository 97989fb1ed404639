"""Generated ids are valid, distinct uuid4 strings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tracardi.engine.ids import IdFactory, RepeatedIds


def test_ids_are_distinct_uuid4_strings_across_buffer_refills() -> None:
    new_id = IdFactory()
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    for value in ids[:300]:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
    assert {value[19] for value in ids} == set("89ab"), "the variant digit keeps its two random bits"


def test_time_ordered_ids_sort_by_time_and_stay_unique() -> None:
    from datetime import UTC, datetime, timedelta

    new_id = IdFactory()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [new_id.time_ordered(start + timedelta(milliseconds=i)) for i in range(500)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 500
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert int(ids[0].replace("-", "")[:12], 16) == int(start.timestamp() * 1000), "the first 48 bits are the ms"


def test_the_attempts_of_one_request_reuse_their_event_ids() -> None:
    """A retried track overwrites the events its lost attempt wrote instead of storing copies."""
    ids = RepeatedIds(IdFactory().time_ordered)
    now = datetime.now(UTC)
    first = [ids(now) for _ in range(3)]
    ids.restart()
    again = [ids(now) for _ in range(4)]  # a retry may build one more event (e.g. a system event)
    assert again[:3] == first and again[3] not in first
    assert len(set(first)) == 3
