"""Property: for random profiles and random TQL conditions, ``evaluate`` and the SQLite store (via ``to_query``)
select the same profiles, so a segment evaluated in memory and the same condition searched agree; and the
evaluator reads a profile as a Struct and as a plain dict (times as ISO strings) alike.

The generated data keeps to what both sides define alike (see ``tracardi.domain.tql.querying``): boolean
literals only against the boolean path (SQLite reads true as 1), date literals only against time paths holding
UTC times to the second, no U+0000 in strings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracardi.domain.profile import Profile
from tracardi.domain.query import match_all
from tracardi.domain.tql import evaluate, parse, to_query
from tracardi.storage import PROFILES, Put
from tracardi.storage.embedded import SqliteDocumentStore

T0 = datetime(2024, 5, 1, tzinfo=UTC)
TEXT = st.text(alphabet="ab é☃", max_size=3)
NUMBER = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, -1.5, 2.0, 1e10]))
TIME = st.integers(0, 10).map(lambda hours: T0 + timedelta(hours=hours))
TIME_TEXT = TIME.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
SCALAR = st.one_of(NUMBER, TEXT, st.none())

# path -> (values a document holds there, literals a condition compares it with)
PATHS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "traits.n": (st.one_of(NUMBER, st.none(), st.lists(st.one_of(NUMBER, st.none()), max_size=3)), SCALAR),
    "traits.s": (st.one_of(TEXT, st.none(), st.lists(TEXT, max_size=3)), SCALAR),
    "traits.m": (st.one_of(SCALAR, st.lists(SCALAR, max_size=3)), SCALAR),
    "traits.flag": (st.one_of(st.booleans(), st.none()), st.one_of(st.booleans(), st.none())),
    "traits.t": (st.one_of(TIME_TEXT, st.none(), st.lists(TIME_TEXT, max_size=2)), st.one_of(TIME, TEXT)),
    "traits.o": (st.dictionaries(st.sampled_from(["x", "y"]), SCALAR, max_size=2), SCALAR),
    "traits.o.x": (SCALAR, SCALAR),
    "stats.visits": (st.integers(0, 5), NUMBER),
    "segments": (st.lists(st.sampled_from(["vip", "new", "a-b", ""]), max_size=3), st.one_of(TEXT, NUMBER)),
    "metadata.time.insert": (st.one_of(TIME, st.none()), st.one_of(TIME, TEXT)),
    "data.contact.email.main": (st.one_of(TEXT, st.none()), SCALAR),
}


def literal(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str):
        return msgspec.json.encode(value).decode()  # a JSON string is a TQL string
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return repr(value)


@st.composite
def leaf(draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(sorted(PATHS)))
    values = PATHS[path][1]
    field = draw(st.sampled_from([path, f"profile@{path}"]))
    form = draw(st.integers(0, 7))
    if form == 0:
        return f"{field} {draw(st.sampled_from(['==', '!=', '>', '>=', '<', '<=']))} {literal(draw(values))}"
    if form == 1:
        return f"{field} {draw(st.sampled_from(['EXISTS', 'NOT EXISTS', 'EMPTY', 'NOT EMPTY', 'IS NULL']))}"
    if form == 2:
        return f"{field} CONTAINS {literal(draw(values.filter(lambda v: v is not None)))}"
    if form == 3:
        return f"{field} {draw(st.sampled_from(['STARTS WITH', 'ENDS WITH']))} {literal(draw(TEXT))}"
    if form == 4:
        return f"{field} BETWEEN {literal(draw(values))} AND {literal(draw(values))}"
    items = ", ".join(literal(v) for v in draw(st.lists(values, min_size=1, max_size=3)))
    return f"{field} {draw(st.sampled_from(['IN', 'NOT IN']))} ({items})"


CONDITIONS = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda c: f"NOT {c}"),
    ),
    max_leaves=4,
)


@st.composite
def profile(draw: st.DrawFn, index: int) -> Profile:
    doc = Profile(id=f"p{index}")
    for path, (values, _) in PATHS.items():
        if path != "traits.o.x" and draw(st.booleans()):
            _put(doc, path, draw(values))
    return doc


def _put(doc: Profile, path: str, value: Any) -> None:
    if path.startswith("traits."):
        doc.traits[path.removeprefix("traits.")] = value
    elif path == "stats.visits":
        doc.stats.visits = value
    elif path == "segments":
        doc.segments = value
    elif path == "metadata.time.insert":
        doc.metadata.time.insert = value
    else:
        doc.data.contact.email.main = value


PROFILES_LISTS = st.integers(2, 8).flatmap(lambda n: st.tuples(*(profile(i) for i in range(n))))


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def store(loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteDocumentStore]:
    path: Path = tmp_path_factory.mktemp("tql") / "docs.sqlite"
    store = SqliteDocumentStore(path, [PROFILES], synchronous="OFF")
    loop.run_until_complete(store.migrate())
    yield store
    loop.run_until_complete(store.close())


async def _selected(store: SqliteDocumentStore, docs: tuple[Profile, ...], texts: list[str]) -> list[set[str]]:
    await store.delete_where(PROFILES, match_all())
    results = await store.bulk([Put(PROFILES, doc.id, doc) for doc in docs])
    assert all(result.ok for result in results)
    found = []
    for text in texts:
        page = await store.query(PROFILES, to_query(parse(text)), limit=100)
        found.append({item.doc.id for item in page.items})
    return found


@settings(max_examples=250, deadline=None)
@given(docs=PROFILES_LISTS, texts=st.lists(CONDITIONS, min_size=1, max_size=6))
def test_evaluate_and_the_sqlite_query_select_the_same_profiles(
    loop: asyncio.AbstractEventLoop, store: SqliteDocumentStore, docs: tuple[Profile, ...], texts: list[str]
) -> None:
    found = loop.run_until_complete(_selected(store, docs, texts))
    plain = [msgspec.to_builtins(doc) for doc in docs]  # as a dict, times are ISO strings
    for text, got in zip(texts, found, strict=True):
        expected = {doc.id for doc in docs if evaluate(parse(text), {"profile": doc})}
        assert got == expected, text
        assert {doc["id"] for doc in plain if evaluate(parse(text), {"profile": doc})} == expected, text
