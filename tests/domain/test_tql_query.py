"""TQL compiled to the documents port's query: what each construct becomes, and what cannot be a query."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracardi.domain import query as q
from tracardi.domain.tql import TqlNotQueryable, parse, to_query

NOTHING = q.Or(items=())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('traits.tier == "gold"', q.Eq(field="traits.tier", value="gold")),
        ("profile@stats.visits != 3", q.Not(item=q.Eq(field="stats.visits", value=3))),
        ("stats.visits > 3", q.Range(field="stats.visits", gt=3)),
        ("stats.visits >= 3", q.Range(field="stats.visits", gte=3)),
        ("stats.visits < 3", q.Range(field="stats.visits", lt=3)),
        ("stats.visits <= 3", q.Range(field="stats.visits", lte=3)),
        (
            "metadata.time.insert >= 2024-05-01",
            q.Range(field="metadata.time.insert", gte=datetime(2024, 5, 1, tzinfo=UTC)),
        ),
        ("stats.visits BETWEEN 1 AND 5", q.Range(field="stats.visits", gte=1, lte=5)),
        ('segments IN ("a", "b")', q.In(field="segments", values=("a", "b"))),
        ("segments NOT IN [1]", q.Not(item=q.In(field="segments", values=(1,)))),
        ("traits.x EXISTS", q.Exists(field="traits.x")),
        ("traits.x IS NULL", q.Not(item=q.Exists(field="traits.x"))),
        ("traits.x == null", q.Eq(field="traits.x", value=None)),
        (
            "traits.x EMPTY",
            q.Or(items=(q.Not(item=q.Exists(field="traits.x")), q.Eq(field="traits.x", value=""))),
        ),
        ('segments CONTAINS "vip"', q.Substring(field="segments", value="vip")),
        ("traits.n CONTAINS 3", q.Eq(field="traits.n", value=3)),
        ('traits.e STARTS WITH "a"', q.Prefix(field="traits.e", value="a")),
        ('traits.e ENDS WITH "@x.com"', q.Suffix(field="traits.e", value="@x.com")),
        (
            'NOT (a == 1 OR b == 2) AND c == "x"',
            q.And(
                items=(
                    q.Not(item=q.Or(items=(q.Eq(field="a", value=1), q.Eq(field="b", value=2)))),
                    q.Eq(field="c", value="x"),
                )
            ),
        ),
        # never true in memory, so never a match in the store
        ("a > null", NOTHING),
        ("a < true", NOTHING),
        ('a BETWEEN 1 AND "z"', NOTHING),
        ('a BETWEEN "a" AND 2024-01-01', NOTHING),
        ("a BETWEEN null AND null", NOTHING),
    ],
)
def test_to_query(text: str, expected: q.Condition) -> None:
    assert to_query(parse(text)) == expected


def test_the_searched_entity_is_chosen_by_the_caller() -> None:
    assert to_query(parse('event@type == "x" AND type != "y"'), entity="event") == q.And(
        items=(q.Eq(field="type", value="x"), q.Not(item=q.Eq(field="type", value="y")))
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('event@type == "purchase"', "event@type reads the event; a search can only read profile fields"),
        ('stats.visits > 1 OR session@id == "s"', "session@id reads the session"),
        ("stats.visits > traits.limit", "cannot compare two fields"),
        ("traits.a CONTAINS traits.b", "cannot compare two fields"),
    ],
)
def test_what_cannot_be_a_query_is_refused(text: str, message: str) -> None:
    with pytest.raises(TqlNotQueryable, match=message):
        to_query(parse(text))


def test_a_query_too_deep_for_the_stores_is_refused() -> None:
    def nested(levels: int) -> str:
        text = "x EMPTY"
        for i in range(levels):
            text = f"(a{i} == 1 {'AND' if i % 2 else 'OR'} {text})"
        return text

    with pytest.raises(TqlNotQueryable, match="nested too deeply"):
        to_query(parse(nested(31)))
    assert isinstance(to_query(parse(nested(29))), q.Or)
