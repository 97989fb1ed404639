"""The aggregation part of the DocumentStore contract: terms and date histograms, the same on every adapter.

``DocumentStoreContract`` inherits these tests, so every adapter bound to the contract runs them against its
``store`` fixture and the contract's ``index`` and ``seeded`` fixtures (the DATASET of ``contract``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tracardi.domain.query import Eq, Range
from tracardi.storage import DocumentStore, Index, InvalidQuery, Put, TermBucket

MAY1 = datetime(2024, 5, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def pairs(buckets: list[TermBucket]) -> list[tuple[Any, int]]:
    return [(bucket.key, bucket.count) for bucket in buckets]


class AggregationContract:
    """Terms and date-histogram aggregations over the contract's DATASET (times on 2024-05-01 and 05-02)."""

    @pytest.mark.parametrize(
        ("field", "expected"),
        [
            ("name", [("alice", 1), ("bob", 1), ("carol", 1), ("dave", 1), ("Émile ☃", 1)]),
            ("tags", [("blue", 2), ("red", 2), ("green", 1)]),
            ("profile.id", [("p1", 2), ("p2", 1), ("p3", 1)]),
            ("data.color", [("red", 2), ("blue", 1)]),
            ("data.nums", [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (10, 1)]),
            ("score", [(-1, 1), (1.5, 1), (2.5, 1), (4, 1)]),
            ("data.flag", [(0, 1), (1, 1)]),
            ("data.nested", []),
            ("missing.path", []),
        ],
        ids=["strings", "list", "nested", "nulls-skipped", "list-of-ints", "floats", "booleans", "object", "missing"],
    )
    async def test_terms_counts_each_value_most_frequent_first(
        self, store: DocumentStore, seeded: Index[Any], field: str, expected: list[tuple[Any, int]]
    ) -> None:
        assert pairs(await store.terms(seeded, field, size=20)) == expected

    async def test_terms_keeps_the_size_most_frequent(self, store: DocumentStore, seeded: Index[Any]) -> None:
        assert pairs(await store.terms(seeded, "tags", size=2)) == [("blue", 2), ("red", 2)]
        assert pairs(await store.terms(seeded, "profile.id", size=1)) == [("p1", 2)]

    async def test_terms_counts_only_the_matches(self, store: DocumentStore, seeded: Index[Any]) -> None:
        where = Eq(field="profile.id", value="p1")
        assert pairs(await store.terms(seeded, "tags", where)) == [("blue", 1), ("green", 1), ("red", 1)]
        assert await store.terms(seeded, "tags", Eq(field="name", value="nobody")) == []

    async def test_terms_of_an_empty_index_is_empty(self, store: DocumentStore, index: Index[Any]) -> None:
        assert await store.terms(index, "name") == []

    @pytest.mark.parametrize("size", [0, -1, 1001, True, "10"])
    async def test_terms_refuses_a_bad_size(self, store: DocumentStore, seeded: Index[Any], size: Any) -> None:
        with pytest.raises(InvalidQuery, match="size"):
            await store.terms(seeded, "name", size=size)

    @pytest.mark.parametrize("field", ["", "a b", "x') OR 1=1 --", "a..b", "$.name", "a\x00b"])
    async def test_aggregations_refuse_hostile_field_names(
        self, store: DocumentStore, seeded: Index[Any], field: str
    ) -> None:
        with pytest.raises(InvalidQuery):
            await store.terms(seeded, field)
        with pytest.raises(InvalidQuery):
            await store.date_histogram(seeded, field, interval="day", since=MAY1, until=MAY1 + DAY)

    async def test_daily_histogram_counts_every_day_of_the_range(
        self, store: DocumentStore, seeded: Index[Any]
    ) -> None:
        buckets = await store.date_histogram(seeded, "time", interval="day", since=MAY1, until=MAY1 + 3 * DAY)
        assert [(b.start, b.end, b.count) for b in buckets] == [
            (MAY1, MAY1 + DAY, 3),
            (MAY1 + DAY, MAY1 + 2 * DAY, 1),
            (MAY1 + 2 * DAY, MAY1 + 3 * DAY, 0),
        ]

    @pytest.mark.parametrize(
        ("interval", "since", "until", "expected"),
        [
            ("hour", MAY1 + 10 * HOUR, MAY1 + 13 * HOUR, [1, 1, 1]),
            ("hour", MAY1 + 10 * HOUR, MAY1 + 11 * HOUR, [1]),  # until is exclusive
            ("day", MAY1 + 10 * HOUR + timedelta(minutes=30), MAY1 + DAY + 11 * HOUR, [2, 1]),  # since cuts day one
            ("week", MAY1, MAY1 + 7 * DAY, [4, 0]),  # weeks start on Monday 2024-04-29
            ("month", datetime(2024, 4, 15, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC), [0, 4]),
        ],
        ids=["hour", "until-exclusive", "since-inside-a-day", "week", "month"],
    )
    async def test_histogram_intervals(
        self,
        store: DocumentStore,
        seeded: Index[Any],
        interval: Any,
        since: datetime,
        until: datetime,
        expected: list[int],
    ) -> None:
        buckets = await store.date_histogram(seeded, "time", interval=interval, since=since, until=until)
        assert [b.count for b in buckets] == expected
        assert buckets[0].start <= since < buckets[0].end

    async def test_histogram_counts_only_the_matches(self, store: DocumentStore, seeded: Index[Any]) -> None:
        where = Eq(field="profile.id", value="p1")
        buckets = await store.date_histogram(seeded, "time", where, interval="day", since=MAY1, until=MAY1 + 2 * DAY)
        assert [b.count for b in buckets] == [1, 0]
        where2 = Range(field="n", gte=2)
        buckets = await store.date_histogram(seeded, "time", where2, interval="day", since=MAY1, until=MAY1 + 2 * DAY)
        assert [b.count for b in buckets] == [2, 1]

    async def test_histogram_puts_fractional_seconds_on_the_right_side_of_midnight(
        self, store: DocumentStore, index: Index[Any]
    ) -> None:
        times = [MAY1 + DAY - timedelta(milliseconds=500), MAY1 + DAY, MAY1 + DAY + timedelta(milliseconds=500)]
        await store.bulk([Put(index, f"t{i}", index.doc_type(id=f"t{i}", time=when)) for i, when in enumerate(times)])
        buckets = await store.date_histogram(index, "time", interval="day", since=MAY1, until=MAY1 + 2 * DAY)
        assert [b.count for b in buckets] == [1, 2]

    @pytest.mark.parametrize(
        ("interval", "since", "until", "message"),
        [
            ("year", MAY1, MAY1 + DAY, "interval"),
            ("day", MAY1 + DAY, MAY1, "before"),
            ("day", MAY1, MAY1, "before"),
            ("day", datetime(2024, 5, 1), MAY1 + DAY, "timezone"),
            ("day", "2024-05-01", MAY1 + DAY, "timezone"),
            ("hour", MAY1, MAY1 + 365 * DAY, "buckets"),
        ],
        ids=["interval", "reversed", "empty", "naive", "string", "too-many-buckets"],
    )
    async def test_histogram_refuses_a_bad_range(
        self, store: DocumentStore, seeded: Index[Any], interval: Any, since: Any, until: Any, message: str
    ) -> None:
        with pytest.raises(InvalidQuery, match=message):
            await store.date_histogram(seeded, "time", interval=interval, since=since, until=until)
