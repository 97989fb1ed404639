"""The OpenSearch document store: the port's contract, plus what only the OpenSearch adapter promises.

By default this runs against ``osmem-server`` (PyPI), an in-memory OpenSearch-compatible stand-in started once per
test session by its pytest plugin, each test on its own copy (``osmem_url``). With ``TRACARDI_TEST_OPENSEARCH_URL``
set, the contract also runs against that real cluster (marker ``real_opensearch``), with writes refreshed
(``wait_for``) since a real cluster, unlike osmem, only shows a write to searches after a refresh.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opensearchpy.exceptions import TransportError

from tests.storage.contract import (
    ALL,
    CONDITIONS,
    CONTRACT_INDICES,
    DATASET,
    DECLARED,
    UNDECLARED,
    Doc,
    DocumentStoreContract,
    all_pages,
)
from tracardi.domain.common import Entity
from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.domain.query import Eq, Range, Sort
from tracardi.storage import EVENTS, PROFILES, Index, InvalidQuery, MigrationStep, Put, StorageError, Unavailable
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.opensearch import Migrations, OpenSearchDocumentStore, OpenSearchOptions
from tracardi.storage.opensearch._client import call

REAL_URL = os.environ.get("TRACARDI_TEST_OPENSEARCH_URL", "")


class TestOsmemContract(DocumentStoreContract):
    """The whole contract, with every path sortable (``sortable = "any"``)."""

    big_scale = 0.2  # osmem indexes in Python: a 1 MB document takes it 10-40 s; the real-cluster class keeps 1.0

    @pytest.fixture
    async def store(self, osmem_url: str) -> AsyncIterator[OpenSearchDocumentStore]:
        # a long timeout: on a loaded 2-core machine osmem needs more than 10 s for the 1 MB document of 55,000 keys
        options = OpenSearchOptions(hosts=osmem_url, prefix="t", sortable="any", timeout=60.0)
        store = OpenSearchDocumentStore(options, CONTRACT_INDICES)
        await store.migrate()
        yield store
        await store.close()


@pytest.fixture
async def declared_mode(osmem_url: str) -> AsyncIterator[OpenSearchDocumentStore]:
    """The product's default: only declared fields are sortable (filters still work on any path)."""
    store = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="t"), CONTRACT_INDICES)
    await store.migrate()
    await store.bulk([Put(index, doc.id, doc) for index in CONTRACT_INDICES for doc in DATASET])
    yield store
    await store.close()


@pytest.mark.parametrize("index", CONTRACT_INDICES, ids=["declared", "cached", "undeclared"])
async def test_declared_mode_filters_any_path(declared_mode: OpenSearchDocumentStore, index: Index[Doc]) -> None:
    for name, where, expected in CONDITIONS:
        page = await declared_mode.query(index, where, limit=100)
        assert {item.doc.id for item in page.items} == expected, name
        assert await declared_mode.count(index, where) == len(expected), name


async def test_declared_mode_sorts_declared_fields_and_refuses_others(declared_mode: OpenSearchDocumentStore) -> None:
    for field, desc, expected in [
        ("score", False, ["d5", "d1", "d2", "d4", "d3"]),
        ("time", True, ["d5", "d3", "d2", "d1", "d4"]),
        ("profile.id", True, ["d5", "d2", "d4", "d1", "d3"]),
    ]:
        assert await all_pages(declared_mode, DECLARED, None, [Sort(field=field, desc=desc)], 2) == expected
    for index, field in [(DECLARED, "data.color"), (UNDECLARED, "n")]:
        with pytest.raises(InvalidQuery, match="cannot sort"):
            await declared_mode.query(index, sort=[Sort(field=field)])
    assert [d.doc.id for page in [p async for p in declared_mode.scan(UNDECLARED)] for d in page] == sorted(ALL)


@pytest.mark.real_opensearch
@pytest.mark.skipif(not REAL_URL, reason="TRACARDI_TEST_OPENSEARCH_URL is not set")
class TestRealOpenSearchContract(DocumentStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[OpenSearchDocumentStore]:
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        options = OpenSearchOptions(hosts=REAL_URL, prefix=prefix, refresh="wait_for", replicas=0, sortable="any")
        store = OpenSearchDocumentStore(options, CONTRACT_INDICES)
        await store.migrate()
        yield store
        if not store._closed:
            await store._client.indices.delete(index=f"{prefix}.*")
        await store.close()


# -- what only the OpenSearch adapter promises ---------------------------------------------------------------------

T0 = datetime(2024, 5, 31, 23, 0, tzinfo=UTC)


@pytest.fixture
async def cdp(osmem_url: str) -> AsyncIterator[OpenSearchDocumentStore]:
    """A store of the product's indices (profiles, sessions, events, sources) under the prefix ``cdp``."""
    store = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="cdp"), ALL_INDICES)
    await store.migrate()
    yield store
    await store.close()


def event(event_id: str, when: datetime | None, **properties: Any) -> Event:
    ev = Event(id=event_id, type="page-view", source=Entity(id="web"), properties=properties)
    ev.metadata.time.insert = when
    return ev


async def test_indices_are_versioned_behind_aliases(cdp: OpenSearchDocumentStore) -> None:
    aliases = await cdp._client.indices.get_alias(index="cdp.profile.v1,cdp.session.v1,cdp.source.v1")
    assert aliases["cdp.profile.v1"]["aliases"] == {"cdp.profile": {"is_write_index": True}}
    assert set(aliases) == {"cdp.profile.v1", "cdp.session.v1", "cdp.source.v1"}
    await cdp.put(PROFILES, "p1", Profile(id="p1"))
    assert (await cdp._client.get(index="cdp.profile.v1", id="p1"))["found"]


async def test_events_live_in_monthly_indices_behind_one_read_alias(cdp: OpenSearchDocumentStore) -> None:
    await cdp.bulk([Put(EVENTS, "e1", event("e1", T0)), Put(EVENTS, "e2", event("e2", T0 + timedelta(hours=2)))])
    await cdp.put(EVENTS, "e3", event("e3", None))
    found = await cdp._client.indices.get_alias(name="cdp.event")
    assert {"cdp.event.v1-2024.05", "cdp.event.v1-2024.06", "cdp.event.v1-none"} <= set(found)
    assert (await cdp._client.get(index="cdp.event.v1-2024.06", id="e2"))["found"]
    assert [v.doc.id for v in await cdp.get_many(EVENTS, ["e3", "e2", "e1"])] == ["e3", "e2", "e1"]
    assert await cdp.count(EVENTS, Eq(field="type", value="page-view")) == 3


async def test_an_event_rewritten_stays_one_document_in_its_month(cdp: OpenSearchDocumentStore, osmem_url: str) -> None:
    await cdp.put(EVENTS, "e1", event("e1", T0, step=1))
    other_host = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="cdp"), ALL_INDICES)
    try:
        got = await other_host.get(EVENTS, "e1")
        assert got is not None
        got.doc.properties["step"] = 2
        assert await other_host.put(EVENTS, "e1", got.doc, if_version=got.version) == 2
        assert await other_host.delete(EVENTS, "missing") is False
    finally:
        await other_host.close()
    assert await cdp.count(EVENTS) == 1
    got = await cdp.get(EVENTS, "e1")
    assert got is not None
    assert (got.doc.properties, got.version) == ({"step": 2}, 2)
    assert await cdp.delete(EVENTS, "e1") is True
    assert await cdp.count(EVENTS) == 0


async def test_random_trait_keys_do_not_grow_the_mapping(cdp: OpenSearchDocumentStore) -> None:
    before = await cdp._client.indices.get_mapping(index="cdp.profile.v1")
    profiles = [Profile(id=f"p{i}", traits={f"k{i}_{j}": j for j in range(300)}) for i in range(10)]
    results = await cdp.bulk([Put(PROFILES, p.id, p) for p in profiles])
    assert all(r.ok for r in results)
    assert await cdp._client.indices.get_mapping(index="cdp.profile.v1") == before
    assert await cdp.count(PROFILES, Range(field="traits.k7_5", gte=5)) == 1  # yet every key stays queryable


async def test_refresh_is_chosen_per_call_and_reads_need_none(cdp: OpenSearchDocumentStore) -> None:
    """osmem shows writes to searches at once, so the policy is checked on the requests the adapter sends."""
    sent: list[tuple[str, dict[str, Any]]] = []
    client = cdp._client

    def spy(name: str, method: Any) -> Any:
        async def recorded(*args: Any, **kwargs: Any) -> Any:
            sent.append((name, dict(kwargs.get("params") or {})))
            return await method(*args, **kwargs)

        return recorded

    for name in ("bulk", "mget", "search", "count"):
        setattr(client, name, spy(name, getattr(client, name)))
    await cdp.put(PROFILES, "p1", Profile(id="p1"))
    await cdp.put(PROFILES, "p1", Profile(id="p1"), refresh="wait_for")
    await cdp.get(PROFILES, "p1")
    assert sent == [("bulk", {"refresh": "false"}), ("bulk", {"refresh": "wait_for"}), ("mget", sent[2][1])]
    assert "refresh" not in sent[2][1]


async def test_busy_answers_are_retried_with_backoff_then_unavailable() -> None:
    calls: list[float] = []

    async def busy() -> str:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 3:
            raise TransportError(429, "too_many_requests", {})
        return "ok"

    assert await call(busy, retries=3, backoff=0.01) == "ok"
    assert calls[2] - calls[1] >= calls[1] - calls[0] >= 0.01
    calls.clear()

    async def down() -> str:
        calls.append(0.0)
        raise TransportError(503, "unavailable", {})

    with pytest.raises(Unavailable):
        await call(down, retries=2, backoff=0.001)
    assert len(calls) == 3

    async def refused() -> str:
        raise TransportError(400, "bad request", {})

    with pytest.raises(StorageError):
        await call(refused, retries=2, backoff=0.001)


async def test_migrate_up_copies_to_a_new_version_switches_the_alias_and_cleanup_drops_the_old(
    osmem_url: str,
) -> None:
    """Changing what is sortable changes the stored form: ``up`` builds v2, keeps versions, then ``cleanup``."""
    before = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="m"), CONTRACT_INDICES)
    after = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="m", sortable="any"), CONTRACT_INDICES)
    messages: list[str] = []
    try:
        await before.migrate()
        await before.bulk([Put(UNDECLARED, doc.id, doc) for doc in DATASET])
        await before.put(UNDECLARED, "d1", DATASET[0])  # d1 at version 2
        held = await before.get(UNDECLARED, "d2")
        assert held is not None
        states = {s.alias: s for s in await Migrations(after).status()}
        assert not states["m.contract-undeclared"].up_to_date

        async def report(step: MigrationStep) -> None:
            messages.append(step.line())

        states = {s.alias: s for s in await Migrations(after, report).up(batch=2)}
        state = states["m.contract-undeclared"]
        assert (state.current, state.up_to_date, state.count, state.old) == (
            "m.contract-undeclared.v2",
            True,
            len(DATASET),
            ["m.contract-undeclared.v1"],
        )
        assert (
            "m.contract-undeclared: verified m.contract-undeclared.v1 -> m.contract-undeclared.v2: 5/5 documents"
            in messages
        )
        got = await after.get(UNDECLARED, "d1")
        assert got is not None and got.version == 2
        page = await after.query(UNDECLARED, sort=[Sort(field="data.color")], limit=10)
        assert [item.doc.id for item in page.items] == ["d2", "d1", "d5", "d3", "d4"]
        # a host still holding the v1 sequence numbers writes safely after the switch
        assert await before.put(UNDECLARED, "d2", held.doc, if_version=held.version) == 2
        assert (await Migrations(after).up()) == await Migrations(after).status()  # nothing left to do

        assert await Migrations(after).cleanup() == [
            "m.contract-declared.v1",
            "m.contract-cached.v1",
            "m.contract-undeclared.v1",
        ]
        assert all(not s.old for s in await Migrations(after).status())
    finally:
        await before.close()
        await after.close()
