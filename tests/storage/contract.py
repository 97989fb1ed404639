"""The DocumentStore contract: what every adapter of the documents port must do, written only against the port.

An adapter's test module binds the suite by subclassing ``DocumentStoreContract`` and providing a ``store``
fixture that yields a migrated, empty store serving ``CONTRACT_INDICES`` and closes it afterwards (``close``
must tolerate being called again, since some tests close the store themselves)::

    class TestMyStore(DocumentStoreContract):
        @pytest.fixture
        async def store(self, tmp_path):
            store = MyStore(..., CONTRACT_INDICES)
            await store.migrate()
            yield store
            await store.close()

Most tests run once per index kind: fields declared for indexing (``declared``), the same with the adapter's
read cache asked for (``cached``), and nothing declared, so every path is read without help (``undeclared``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from tests.storage.aggregate_contract import AggregationContract
from tracardi.domain.query import And, Condition, Eq, Exists, In, Not, Or, Prefix, Range, Sort, Substring, Suffix
from tracardi.storage import (
    Delete,
    DocumentStore,
    Index,
    InvalidQuery,
    NotFound,
    Put,
    Unavailable,
    VersionConflict,
)


class Ref(msgspec.Struct, kw_only=True):
    id: str


class Doc(msgspec.Struct, kw_only=True):
    id: str
    name: str = ""
    n: int = 0
    score: float | None = None
    tags: list[str] = []
    profile: Ref | None = None
    time: datetime | None = None
    data: dict[str, Any] = {}


_FIELDS = ("name", "n", "score", "time", "profile.id")
DECLARED = Index("contract-declared", Doc, fields=_FIELDS, multi=("tags",))
CACHED = Index("contract-cached", Doc, fields=_FIELDS, multi=("tags",), cached=True)
UNDECLARED = Index("contract-undeclared", Doc)
CONTRACT_INDICES: tuple[Index[Doc], ...] = (DECLARED, CACHED, UNDECLARED)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

DATASET = (
    Doc(
        id="d1",
        name="alice",
        n=1,
        score=1.5,
        tags=["red", "blue"],
        profile=Ref(id="p1"),
        time=T0,
        data={"color": "red", "nums": [1, 2, 3], "flag": True, "nested": {"deep": "x"}},
    ),
    Doc(
        id="d2",
        name="bob",
        n=2,
        score=2.5,
        tags=["blue"],
        profile=Ref(id="p2"),
        time=T0 + HOUR,
        data={"color": "blue", "nums": [4], "flag": False, "empty": []},
    ),
    Doc(
        id="d3",
        name="carol",
        n=3,
        score=None,
        tags=[],
        profile=None,
        time=T0 + 2 * HOUR,
        data={"color": None, "nums": []},
    ),
    Doc(id="d4", name="dave", n=4, score=4.0, tags=["green"], profile=Ref(id="p1"), time=None, data={}),
    Doc(
        id="d5",
        name="Émile ☃",
        n=5,
        score=-1.0,
        tags=["red"],
        profile=Ref(id="p3"),
        time=T0 + 24 * HOUR,
        data={"color": "red", "nums": [5, 10]},
    ),
)
ALL = {"d1", "d2", "d3", "d4", "d5"}

# (condition, ids of DATASET it matches)
CONDITIONS: list[tuple[str, Condition, set[str]]] = [
    ("eq-str", Eq(field="name", value="bob"), {"d2"}),
    ("eq-int", Eq(field="n", value=3), {"d3"}),
    ("eq-int-matches-float", Eq(field="score", value=4), {"d4"}),
    ("eq-nested", Eq(field="profile.id", value="p1"), {"d1", "d4"}),
    ("eq-unicode", Eq(field="name", value="Émile ☃"), {"d5"}),
    ("eq-none-is-null-or-missing", Eq(field="data.color", value=None), {"d3", "d4"}),
    ("eq-list-any-element", Eq(field="tags", value="blue"), {"d1", "d2"}),
    ("eq-list-no-element", Eq(field="tags", value="nope"), set()),
    ("eq-free-field", Eq(field="data.color", value="red"), {"d1", "d5"}),
    ("eq-free-list", Eq(field="data.nums", value=4), {"d2"}),
    ("eq-bool-true", Eq(field="data.flag", value=True), {"d1"}),
    ("eq-bool-false", Eq(field="data.flag", value=False), {"d2"}),
    ("eq-deep", Eq(field="data.nested.deep", value="x"), {"d1"}),
    ("eq-object-never", Eq(field="data.nested", value="x"), set()),
    ("in-str", In(field="name", values=("alice", "dave", "zed")), {"d1", "d4"}),
    ("in-list", In(field="tags", values=("green", "red")), {"d1", "d4", "d5"}),
    ("in-free-list", In(field="data.nums", values=(3, 10)), {"d1", "d5"}),
    ("in-empty", In(field="n", values=()), set()),
    ("range-gt", Range(field="n", gt=2), {"d3", "d4", "d5"}),
    ("range-gte-lt", Range(field="n", gte=2, lt=4), {"d2", "d3"}),
    ("range-lte", Range(field="n", lte=1), {"d1"}),
    ("range-float-skips-null", Range(field="score", gt=0), {"d1", "d2", "d4"}),
    ("range-negative", Range(field="score", lt=0), {"d5"}),
    ("range-time-gte", Range(field="time", gte=T0 + HOUR), {"d2", "d3", "d5"}),
    ("range-time-lt", Range(field="time", lt=T0 + HOUR), {"d1"}),
    ("range-time-gt-lte", Range(field="time", gt=T0, lte=T0 + 2 * HOUR), {"d2", "d3"}),
    (
        "range-time-other-zone",
        Range(field="time", gte=(T0 + HOUR).astimezone(timezone(timedelta(hours=2)))),
        {"d2", "d3", "d5"},
    ),
    ("range-str", Range(field="name", gte="b", lt="d"), {"d2", "d3"}),
    ("range-free-list-any", Range(field="data.nums", gt=4), {"d5"}),
    ("range-free-list-between", Range(field="data.nums", gte=3, lte=4), {"d1", "d2"}),
    ("exists-null-vs-value", Exists(field="score"), {"d1", "d2", "d4", "d5"}),
    ("exists-under-null-parent", Exists(field="profile.id"), {"d1", "d2", "d4", "d5"}),
    ("exists-free-null-vs-missing", Exists(field="data.color"), {"d1", "d2", "d5"}),
    ("exists-missing", Exists(field="data.missing"), set()),
    ("exists-list-empty-is-absent", Exists(field="tags"), {"d1", "d2", "d4", "d5"}),
    ("exists-free-list", Exists(field="data.nums"), {"d1", "d2", "d5"}),
    ("exists-only-empty-list", Exists(field="data.empty"), set()),
    ("prefix", Prefix(field="name", value="ca"), {"d3"}),
    ("prefix-empty-is-any-string", Prefix(field="name", value=""), ALL),
    ("prefix-unicode", Prefix(field="name", value="Émi"), {"d5"}),
    ("prefix-list-any", Prefix(field="tags", value="bl"), {"d1", "d2"}),
    ("prefix-free", Prefix(field="data.color", value="re"), {"d1", "d5"}),
    ("prefix-time-as-text", Prefix(field="time", value="2024-05-01T11"), {"d2"}),
    ("prefix-number-never", Prefix(field="n", value="1"), set()),
    ("suffix", Suffix(field="name", value="ol"), {"d3"}),
    ("suffix-unicode", Suffix(field="name", value="☃"), {"d5"}),
    ("suffix-list-any", Suffix(field="tags", value="ue"), {"d1", "d2"}),
    ("suffix-longer-than-value", Suffix(field="name", value="xbob"), set()),
    ("suffix-number-never", Suffix(field="n", value="1"), set()),
    ("substring", Substring(field="name", value="li"), {"d1"}),
    ("substring-case-sensitive", Substring(field="name", value="ALI"), set()),
    ("substring-list-any", Substring(field="tags", value="lu"), {"d1", "d2"}),
    ("substring-free-nested", Substring(field="data.nested.deep", value="x"), {"d1"}),
    ("substring-object-never", Substring(field="data.nested", value="x"), set()),
    ("substring-wildcards-are-literal", Substring(field="name", value="*"), set()),
    ("substring-like-chars-are-literal", Substring(field="name", value="%"), set()),
    ("not-substring", Not(item=Substring(field="name", value="a")), {"d2", "d5"}),
    ("and", And(items=(Eq(field="tags", value="red"), Range(field="n", gt=1))), {"d5"}),
    ("or", Or(items=(Eq(field="name", value="alice"), Eq(field="n", value=4))), {"d1", "d4"}),
    ("not-list", Not(item=Eq(field="tags", value="blue")), {"d3", "d4", "d5"}),
    ("not-includes-null-and-missing", Not(item=Eq(field="data.color", value="red")), {"d2", "d3", "d4"}),
    ("not-exists", Not(item=Exists(field="score")), {"d3"}),
    ("not-range", Not(item=Range(field="score", gt=0)), {"d3", "d5"}),
    ("and-empty-matches-all", And(items=()), ALL),
    ("or-empty-matches-none", Or(items=()), set()),
    ("not-and-empty", Not(item=And(items=())), set()),
    ("not-or-empty", Not(item=Or(items=())), ALL),
    (
        "nested",
        Or(
            items=(
                And(items=(Eq(field="tags", value="red"), Not(item=Eq(field="profile.id", value="p3")))),
                And(items=(Range(field="n", gte=4), Exists(field="time"))),
            )
        ),
        {"d1", "d5"},
    ),
    (
        "nested-not",
        Not(item=Or(items=(Eq(field="name", value="alice"), Not(item=Exists(field="profile.id"))))),
        {"d2", "d4", "d5"},
    ),
]

HOSTILE_FIELDS = [
    "a'b",
    'a"b',
    "name; DROP TABLE x",
    "name') OR 1=1 --",
    "a b",
    "",
    "a..b",
    ".a",
    "a.",
    "$.a",
    "a[0]",
    "a\nb",
    "a/*x*/",
]


async def all_pages(
    store: DocumentStore, index: Index[Doc], where: Condition | None, sort: Sequence[Sort], limit: int
) -> list[str]:
    """Follow the cursors to the end; every page but the last is full."""
    seen: list[str] = []
    after = None
    for _ in range(1000):
        page = await store.query(index, where, sort=sort, limit=limit, after=after)
        assert len(page.items) <= limit
        seen.extend(item.doc.id for item in page.items)
        if page.next is None:
            return seen
        assert len(page.items) == limit
        after = page.next
    raise AssertionError("paging did not end")


class DocumentStoreContract(AggregationContract):
    """Behaviour every DocumentStore adapter must show; subclasses provide the ``store`` fixture."""

    big_scale = 1.0
    """Share of the full size the big-document test writes (a slow stand-in server may take less)."""

    @pytest.fixture(params=CONTRACT_INDICES, ids=["declared", "cached", "undeclared"])
    def index(self, request: pytest.FixtureRequest) -> Index[Doc]:
        index: Index[Doc] = request.param
        return index

    @pytest.fixture
    async def seeded(self, store: DocumentStore, index: Index[Doc]) -> Index[Doc]:
        results = await store.bulk([Put(index, doc.id, doc) for doc in DATASET])
        assert all(result.ok for result in results)
        return index

    # -- documents and versions -------------------------------------------------------------------------------

    async def test_get_missing_is_none(self, store: DocumentStore, index: Index[Doc]) -> None:
        assert await store.get(index, "nope") is None

    async def test_put_then_get_round_trips_at_version_1(self, store: DocumentStore, index: Index[Doc]) -> None:
        doc = DATASET[0]
        assert await store.put(index, doc.id, doc) == 1
        got = await store.get(index, doc.id)
        assert got is not None
        assert isinstance(got.doc, Doc)
        assert got.doc == doc
        assert got.version == 1

    async def test_each_write_increments_the_version(self, store: DocumentStore, index: Index[Doc]) -> None:
        versions = [await store.put(index, "a", Doc(id="a", n=i)) for i in range(4)]
        assert versions == [1, 2, 3, 4]
        got = await store.get(index, "a")
        assert got is not None
        assert (got.doc.n, got.version) == (3, 4)

    async def test_if_version_matching_writes(self, store: DocumentStore, index: Index[Doc]) -> None:
        await store.put(index, "a", Doc(id="a"))
        assert await store.put(index, "a", Doc(id="a", n=7), if_version=1) == 2
        got = await store.get(index, "a")
        assert got is not None
        assert (got.doc.n, got.version) == (7, 2)

    async def test_stale_if_version_conflicts_and_keeps_the_stored_doc(
        self, store: DocumentStore, index: Index[Doc]
    ) -> None:
        await store.put(index, "a", Doc(id="a", n=1))
        await store.put(index, "a", Doc(id="a", n=2))
        with pytest.raises(VersionConflict) as info:
            await store.put(index, "a", Doc(id="a", n=99), if_version=1)
        assert (info.value.doc_id, info.value.expected, info.value.actual) == ("a", 1, 2)
        got = await store.get(index, "a")
        assert got is not None
        assert (got.doc.n, got.version) == (2, 2)

    async def test_if_version_on_a_missing_doc_conflicts(self, store: DocumentStore, index: Index[Doc]) -> None:
        with pytest.raises(VersionConflict) as info:
            await store.put(index, "a", Doc(id="a"), if_version=1)
        assert (info.value.expected, info.value.actual) == (1, None)
        assert await store.get(index, "a") is None

    async def test_create_refuses_an_existing_id(self, store: DocumentStore, index: Index[Doc]) -> None:
        assert await store.put(index, "a", Doc(id="a", n=1), create=True) == 1
        with pytest.raises(VersionConflict) as info:
            await store.put(index, "a", Doc(id="a", n=2), create=True)
        assert (info.value.expected, info.value.actual) == (None, 1)
        got = await store.get(index, "a")
        assert got is not None
        assert got.doc.n == 1

    async def test_unconditional_put_overwrites_whatever_is_stored(
        self, store: DocumentStore, index: Index[Doc]
    ) -> None:
        await store.put(index, "a", Doc(id="a", n=1, tags=["x"]))
        assert await store.put(index, "a", Doc(id="a", n=2)) == 2
        got = await store.get(index, "a")
        assert got is not None
        assert got.doc == Doc(id="a", n=2)
        assert await store.count(index, Eq(field="tags", value="x")) == 0

    async def test_delete_reports_whether_there_was_a_doc(self, store: DocumentStore, index: Index[Doc]) -> None:
        await store.put(index, "a", Doc(id="a"))
        assert await store.delete(index, "a") is True
        assert await store.get(index, "a") is None
        assert await store.delete(index, "a") is False
        assert await store.put(index, "a", Doc(id="a", n=3), create=True) >= 1
        got = await store.get(index, "a")
        assert got is not None
        assert got.doc.n == 3

    async def test_get_returns_a_fresh_copy_each_time(self, store: DocumentStore, index: Index[Doc]) -> None:
        await store.put(index, "a", Doc(id="a", tags=["x"]))
        first = await store.get(index, "a")
        assert first is not None
        first.doc.tags.append("mutated")
        first.doc.n = 42
        again = await store.get(index, "a")
        assert again is not None
        assert again.doc == Doc(id="a", tags=["x"])

    async def test_get_many_keeps_the_order_asked_and_skips_missing(
        self, store: DocumentStore, seeded: Index[Doc]
    ) -> None:
        got = await store.get_many(seeded, ["d3", "zz", "d1", "d5"])
        assert [item.doc.id for item in got] == ["d3", "d1", "d5"]
        assert all(item.version == 1 for item in got)
        assert await store.get_many(seeded, []) == []

    async def test_indices_are_separate(self, store: DocumentStore) -> None:
        await store.put(DECLARED, "a", Doc(id="a", name="declared"))
        assert await store.get(UNDECLARED, "a") is None
        await store.put(UNDECLARED, "a", Doc(id="a", name="undeclared"))
        got = await store.get(DECLARED, "a")
        assert got is not None
        assert (got.doc.name, got.version) == ("declared", 1)
        assert await store.count(UNDECLARED) == 1

    async def test_unicode_round_trips_and_matches(self, store: DocumentStore, index: Index[Doc]) -> None:
        text = "Zürich 東京 🚀 مرحبا e\u0301 \"quoted\" 'single' \\ back"
        doc = Doc(id="ü-🚀", name=text, tags=["ß", "✓"], data={"ключ": text, "nul": "a\u0000b"})
        await store.put(index, doc.id, doc)
        got = await store.get(index, doc.id)
        assert got is not None
        assert got.doc == doc
        assert await store.count(index, Eq(field="name", value=text)) == 1
        assert await store.count(index, Eq(field="tags", value="✓")) == 1

    async def test_a_big_document_round_trips(self, store: DocumentStore, index: Index[Doc]) -> None:
        n = self.big_scale
        doc = Doc(
            id="big",
            name="x" * int(1_000_000 * n),
            data={"list": list(range(int(50_000 * n))), "map": {str(i): i for i in range(int(5000 * n))}},
        )
        await store.put(index, doc.id, doc)
        got = await store.get(index, doc.id)
        assert got is not None
        assert got.doc == doc

    # -- bulk -------------------------------------------------------------------------------------------------

    async def test_bulk_reports_each_item_in_order(self, store: DocumentStore, index: Index[Doc]) -> None:
        await store.put(index, "b", Doc(id="b"))
        results = await store.bulk(
            [
                Put(index, "a", Doc(id="a", n=1), create=True),
                Put(index, "a", Doc(id="a", n=2), if_version=1),
                Put(index, "a", Doc(id="a", n=3), if_version=1),
                Delete(index, "missing"),
                Put(index, "b", Doc(id="b"), create=True),
                Delete(index, "b"),
                Put(index, "c", Doc(id="c"), if_version=3),
                Put(index, "d", Doc(id="d")),
            ]
        )
        assert [r.doc_id for r in results] == ["a", "a", "a", "missing", "b", "b", "c", "d"]
        assert [r.ok for r in results] == [True, True, False, False, False, True, False, True]
        assert [results[i].version for i in (0, 1, 7)] == [1, 2, 1]
        conflict = results[2].error
        assert isinstance(conflict, VersionConflict)
        assert (conflict.expected, conflict.actual) == (1, 2)
        assert isinstance(results[3].error, NotFound)
        assert isinstance(results[4].error, VersionConflict)
        assert isinstance(results[6].error, VersionConflict)
        got = await store.get(index, "a")
        assert got is not None
        assert (got.doc.n, got.version) == (2, 2)
        assert await store.get(index, "b") is None
        assert await store.get(index, "c") is None

    async def test_bulk_of_nothing_is_nothing(self, store: DocumentStore) -> None:
        assert await store.bulk([]) == []

    async def test_bulk_spans_indices(self, store: DocumentStore) -> None:
        results = await store.bulk([Put(DECLARED, "a", Doc(id="a")), Put(UNDECLARED, "a", Doc(id="a"))])
        assert [r.version for r in results] == [1, 1]

    # -- conditions -------------------------------------------------------------------------------------------

    @pytest.mark.parametrize(("where", "expected"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
    async def test_condition(
        self, store: DocumentStore, seeded: Index[Doc], where: Condition, expected: set[str]
    ) -> None:
        assert await store.count(seeded, where) == len(expected)
        page = await store.query(seeded, where, limit=100)
        assert {item.doc.id for item in page.items} == expected
        assert page.next is None

    async def test_count_without_condition(self, store: DocumentStore, seeded: Index[Doc]) -> None:
        assert await store.count(seeded) == len(DATASET)

    async def test_values_are_data_not_sql(self, store: DocumentStore, seeded: Index[Doc]) -> None:
        assert await store.count(seeded, Eq(field="name", value="x' OR '1'='1")) == 0
        assert await store.count(seeded, In(field="tags", values=("red'); DELETE FROM x; --",))) == 0
        assert await store.count(seeded) == len(DATASET)

    async def test_text_conditions_need_a_string(self, store: DocumentStore, seeded: Index[Doc]) -> None:
        for where in (Prefix(field="name", value=1), Suffix(field="name", value=None), Substring(field="n", value=2)):
            with pytest.raises(InvalidQuery, match="needs a string"):
                await store.count(seeded, where)  # type: ignore[arg-type]

    @pytest.mark.parametrize("field", HOSTILE_FIELDS)
    async def test_hostile_field_names_are_refused(self, store: DocumentStore, seeded: Index[Doc], field: str) -> None:
        for where in (
            Eq(field=field, value=1),
            In(field=field, values=(1,)),
            Range(field=field, gt=1),
            Exists(field=field),
            Prefix(field=field, value="x"),
            Substring(field=field, value="x"),
        ):
            with pytest.raises(InvalidQuery):
                await store.count(seeded, where)
            with pytest.raises(InvalidQuery):
                await store.query(seeded, Not(item=where))
        with pytest.raises(InvalidQuery):
            await store.query(seeded, sort=[Sort(field=field)])
        assert await store.count(seeded) == len(DATASET)

    # -- sort and paging --------------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            (Sort(field="score"), ["d5", "d1", "d2", "d4", "d3"]),
            (Sort(field="score", desc=True), ["d4", "d2", "d1", "d5", "d3"]),
            (Sort(field="time", desc=True), ["d5", "d3", "d2", "d1", "d4"]),
            (Sort(field="time"), ["d1", "d2", "d3", "d5", "d4"]),
            (Sort(field="name"), ["d1", "d2", "d3", "d4", "d5"]),
            (Sort(field="profile.id", desc=True), ["d5", "d2", "d4", "d1", "d3"]),
            (Sort(field="data.color"), ["d2", "d1", "d5", "d3", "d4"]),
        ],
        ids=["asc-nulls-last", "desc-nulls-last", "time-desc", "time-asc", "unicode", "nested-ties", "free-ties"],
    )
    async def test_sort(self, store: DocumentStore, seeded: Index[Doc], sort: Sort, expected: list[str]) -> None:
        """Missing and null values come last (and tie); ties fall back to the id in the sort's direction."""
        page = await store.query(seeded, sort=[sort], limit=10)
        assert [item.doc.id for item in page.items] == expected
        for limit in (1, 2):  # cursors inside the values, at the step to nulls, and among the nulls
            assert await all_pages(store, seeded, None, [sort], limit) == expected

    @pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
    async def test_paging_across_ties_neither_repeats_nor_skips(
        self, store: DocumentStore, index: Index[Doc], desc: bool
    ) -> None:
        docs = [Doc(id=f"k{i:02d}", n=i % 4, tags=["all"]) for i in range(23)]
        await store.bulk([Put(index, doc.id, doc) for doc in docs])
        seen = await all_pages(store, index, None, [Sort(field="n", desc=desc)], 5)
        expected = sorted(docs, key=lambda d: (d.n, d.id), reverse=desc)
        assert seen == [d.id for d in expected]

    async def test_paging_with_a_condition_and_two_sort_keys(self, store: DocumentStore, index: Index[Doc]) -> None:
        docs = [Doc(id=f"k{i:02d}", n=i % 3, name=f"name-{i % 5}", score=float(i)) for i in range(30)]
        await store.bulk([Put(index, doc.id, doc) for doc in docs])
        where = Range(field="score", gte=3)
        seen = await all_pages(store, index, where, [Sort(field="n"), Sort(field="name", desc=True)], 4)
        wanted = [d for d in docs if d.score is not None and d.score >= 3]
        assert sorted(seen) == sorted(d.id for d in wanted)
        by_id = {d.id: d for d in docs}
        keys = [(by_id[i].n, by_id[i].name) for i in seen]
        for before, after in itertools.pairwise(keys):
            assert before[0] < after[0] or (before[0] == after[0] and before[1] >= after[1])

    async def test_paging_is_stable_while_others_write(self, store: DocumentStore, index: Index[Doc]) -> None:
        docs = [Doc(id=f"k{i:02d}", n=i % 5) for i in range(20)]
        await store.bulk([Put(index, doc.id, doc) for doc in docs])
        seen: list[str] = []
        page = await store.query(index, sort=[Sort(field="n")], limit=3)
        round_ = 0
        while True:
            seen.extend(item.doc.id for item in page.items)
            # Writes between pages: new documents, and rewrites of the ones already listed (same sort value).
            await store.put(index, f"new{round_}", Doc(id=f"new{round_}", n=round_ % 5))
            await store.put(index, seen[0], Doc(id=seen[0], n=int(seen[0][1:]) % 5, name="rewritten"))
            round_ += 1
            if page.next is None:
                break
            page = await store.query(index, sort=[Sort(field="n")], limit=3, after=page.next)
        originals = [s for s in seen if s.startswith("k")]
        assert sorted(originals) == sorted(d.id for d in docs)
        assert len(set(seen)) == len(seen)

    async def test_last_page_has_no_cursor(self, store: DocumentStore, seeded: Index[Doc]) -> None:
        page = await store.query(seeded, Eq(field="name", value="nobody"))
        assert (page.items, page.next) == ([], None)
        page = await store.query(seeded, limit=100)
        assert len(page.items) == len(DATASET)
        assert page.next is None

    async def test_a_foreign_cursor_is_invalid(self, store: DocumentStore, seeded: Index[Doc]) -> None:
        with pytest.raises(InvalidQuery):
            await store.query(seeded, sort=[Sort(field="n")], after="not-a-cursor")

    # -- scan and delete_where --------------------------------------------------------------------------------

    async def test_scan_walks_every_match_in_id_order(self, store: DocumentStore, index: Index[Doc]) -> None:
        docs = [Doc(id=f"s{i:03d}", n=i) for i in range(23)]
        await store.bulk([Put(index, doc.id, doc) for doc in reversed(docs)])
        pages = [page async for page in store.scan(index, page_size=5)]
        assert all(0 < len(page) <= 5 for page in pages)
        assert [item.doc.id for page in pages for item in page] == [d.id for d in docs]
        odd = [item.doc.id async for page in store.scan(index, Range(field="n", gte=10), page_size=4) for item in page]
        assert odd == [d.id for d in docs if d.n >= 10]

    async def test_scan_of_nothing_yields_no_documents(self, store: DocumentStore, index: Index[Doc]) -> None:
        assert [item async for page in store.scan(index) for item in page] == []

    async def test_delete_where_removes_matches_and_counts_them(self, store: DocumentStore, seeded: Index[Doc]) -> None:
        assert await store.get(seeded, "d1") is not None  # a cached adapter now holds it
        assert await store.delete_where(seeded, Eq(field="tags", value="red")) == 2
        assert await store.get(seeded, "d1") is None
        assert await store.get_many(seeded, ["d1", "d2", "d5"]) == [await store.get(seeded, "d2")]
        assert await store.count(seeded) == 3
        assert await store.count(seeded, Eq(field="tags", value="red")) == 0
        assert await store.delete_where(seeded, Eq(field="tags", value="red")) == 0

    # -- concurrency ------------------------------------------------------------------------------------------

    async def test_one_of_fifty_conflicting_writers_wins_each_round(
        self, store: DocumentStore, index: Index[Doc]
    ) -> None:
        await store.put(index, "c", Doc(id="c"))
        for round_ in range(3):
            current = await store.get(index, "c")
            assert current is not None
            writes = [
                store.put(index, "c", Doc(id="c", n=writer, name=f"round-{round_}"), if_version=current.version)
                for writer in range(50)
            ]
            outcomes = await asyncio.gather(*writes, return_exceptions=True)
            wins = [o for o in outcomes if isinstance(o, int)]
            assert wins == [current.version + 1]
            conflicts = [o for o in outcomes if isinstance(o, VersionConflict)]
            assert len(conflicts) == 49
            assert {(c.expected, c.actual) for c in conflicts} == {(current.version, current.version + 1)}
            after = await store.get(index, "c")
            assert after is not None
            assert after.version == current.version + 1
            assert after.doc.n == outcomes.index(wins[0])

    async def test_optimistic_retries_lose_no_increment(self, store: DocumentStore, index: Index[Doc]) -> None:
        await store.put(index, "counter", Doc(id="counter"))

        async def increment() -> None:
            while True:
                current = await store.get(index, "counter")
                assert current is not None
                try:
                    await store.put(
                        index, "counter", Doc(id="counter", n=current.doc.n + 1), if_version=current.version
                    )
                    return
                except VersionConflict:
                    await asyncio.sleep(0)

        await asyncio.gather(*(increment() for _ in range(20)))
        got = await store.get(index, "counter")
        assert got is not None
        assert (got.doc.n, got.version) == (20, 21)

    async def test_concurrent_bulks_all_land(self, store: DocumentStore, index: Index[Doc]) -> None:
        async def write(i: int) -> list[bool]:
            results = await store.bulk([Put(index, f"b{i}-{j}", Doc(id=f"b{i}-{j}", n=i)) for j in range(3)])
            return [r.ok for r in results]

        outcomes = await asyncio.gather(*(write(i) for i in range(40)))
        assert all(all(ok) for ok in outcomes)
        assert await store.count(index) == 120
        assert await store.count(index, Eq(field="n", value=7)) == 3

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def test_ping_answers(self, store: DocumentStore) -> None:
        await store.ping()

    async def test_migrate_again_keeps_the_data(self, store: DocumentStore) -> None:
        await store.put(DECLARED, "a", Doc(id="a"))
        await store.migrate()
        got = await store.get(DECLARED, "a")
        assert got is not None
        assert got.version == 1

    async def test_a_closed_store_is_unavailable(self, store: DocumentStore) -> None:
        await store.put(CACHED, "a", Doc(id="a"))
        await store.close()
        await store.close()
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: store.get(CACHED, "a"),
            lambda: store.get_many(DECLARED, ["a"]),
            lambda: store.put(DECLARED, "a", Doc(id="a")),
            lambda: store.delete(DECLARED, "a"),
            lambda: store.bulk([Put(DECLARED, "a", Doc(id="a"))]),
            lambda: store.bulk([]),
            lambda: store.count(DECLARED),
            lambda: store.query(DECLARED),
            lambda: store.delete_where(DECLARED, Exists(field="name")),
            lambda: store.ping(),
        ]
        for call in calls:
            with pytest.raises(Unavailable):
                await call()
        with pytest.raises(Unavailable):
            async for _ in store.scan(DECLARED):
                pass
