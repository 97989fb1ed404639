"""Import from another cluster's indices (osmem-server standing in): an old Tracardi's profiles and events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch

from tests.conftest import SettingsFactory
from tests.imports.conftest import burst
from tracardi.domain.errors import InvalidInput
from tracardi.domain.imports import ImportSpec, IndexSource
from tracardi.domain.messages import ImportData
from tracardi.services import Services, open_services
from tracardi.storage import EVENTS, PROFILES

OLD_PROFILES = "tracardi-profile-2023-q1"
OLD_EVENTS = "tracardi-event-2023-q1"


def old_profile(n: int) -> dict[str, Any]:
    """A 0.8.2 profile document as an old Tracardi stored it."""
    return {
        "id": f"p{n}",
        "ids": [f"p{n}", f"emm-{n}"],
        "metadata": {"time": {"insert": "2023-01-05T10:00:00+00:00", "visit": {"count": n}}, "fields": {}},
        "stats": {"visits": n, "views": 2 * n, "counters": {}},
        "traits": {"plan": "gold"},
        "segments": ["vip"],
        "data": {"pii": {"firstname": f"Ann{n}"}, "contact": {"email": {"main": f"a{n}@x.io"}}},
        "operation": {"new": False},  # transient in Tracardi; unknown here and dropped
    }


@pytest.fixture
async def old_cluster(osmem_url: str) -> AsyncIterator[str]:
    client = AsyncOpenSearch(hosts=[osmem_url])
    try:
        for name in (OLD_PROFILES, OLD_EVENTS):  # unmapped documents, so a broken one can be stored too
            await client.indices.create(index=name, body={"mappings": {"dynamic": False}})
        actions: list[dict[str, Any]] = []
        for n in range(1, 26):
            actions += [{"index": {"_index": OLD_PROFILES, "_id": f"p{n}"}}, old_profile(n)]
        legacy = {"id": "old07", "pii": {"name": "Zed", "surname": "Old", "email": "z@old.io"}, "traits": {}}
        broken = {"id": "bad", "stats": {"visits": "many"}}
        actions += [{"index": {"_index": OLD_PROFILES, "_id": "old07"}}, legacy]
        actions += [{"index": {"_index": OLD_PROFILES, "_id": "bad"}}, broken]
        event = {
            "id": "e1",
            "type": "purchase",
            "name": "Purchase",
            "metadata": {"time": {"insert": "2023-02-01T08:00:00+00:00"}, "status": "processed"},
            "source": {"id": "shop"},
            "session": {"id": "s1"},
            "profile": {"id": "p1"},
            "properties": {"total": 10.5},
            "tags": {"values": ["x"], "count": 1},
        }
        actions += [{"index": {"_index": OLD_EVENTS, "_id": "e1"}}, event]
        answer = await client.bulk(body=actions, refresh="true")
        assert not answer["errors"]
        yield osmem_url
    finally:
        await client.close()


async def test_old_tracardi_profiles_and_events(services: Services, old_cluster: str) -> None:
    spec = ImportSpec(
        source=IndexSource(url=old_cluster, index="tracardi-profile-*", password="pw-never-shown"),
        target="profiles",
        preset="tracardi-profile",
        batch_size=10,
    )
    record = await services.imports.start(spec)
    assert record.size == 27 and record.spec.source.password == "********"  # type: ignore[union-attr]
    events = ImportSpec(source=IndexSource(url=old_cluster, index=OLD_EVENTS), target="events", preset="tracardi-event")
    await services.imports.start(events)
    await burst(services)

    done = await services.imports.record(record.id)
    assert (done.status, done.read, done.imported, done.failed) == ("done", 27, 26, 1)
    (error,) = (await services.imports.errors(record.id, limit=5, after=None)).items
    assert "stats.visits" in error.doc.error and '"_id":"bad"' in error.doc.row
    p7 = await services.store.get(PROFILES, "p7")
    assert p7 is not None
    assert (p7.doc.stats.visits, p7.doc.metadata.time.visit.count, p7.doc.ids) == (7, 7, ["p7", "emm-7"])
    assert p7.doc.data.pii.firstname == "Ann7" and p7.doc.segments == ["vip"]
    old = await services.store.get(PROFILES, "old07")
    assert old is not None and old.doc.data.pii.lastname == "Old" and old.doc.data.contact.email.main == "z@old.io"
    e1 = await services.store.get(EVENTS, "e1")
    assert e1 is not None
    assert (e1.doc.type, e1.doc.profile and e1.doc.profile.id, e1.doc.properties) == ("purchase", "p1", {"total": 10.5})
    assert e1.doc.metadata.status == "processed" and e1.doc.tags.values == ["x"]


async def test_an_index_import_resumes_after_its_checkpoint(services: Services, old_cluster: str) -> None:
    source = IndexSource(url=old_cluster, index=OLD_PROFILES)
    spec = ImportSpec(source=source, target="profiles", preset="tracardi-profile", batch_size=4)
    record = await services.imports.start(spec, enqueue=False)
    first = await services.imports.run_slice(ImportData(import_id=record.id, spec=spec), budget=0)
    assert first.next == 1
    after_one = await services.imports.record(record.id)
    assert (after_one.read, after_one.checkpoint.line, after_one.checkpoint.after) == (4, 4, "p10")  # _id order
    second = await services.imports.run_slice(ImportData(import_id=record.id, slice=1, spec=spec), budget=None)
    assert second.next is None
    done = await services.imports.record(record.id)
    assert (done.read, done.imported, done.failed) == (27, 26, 1)
    stale = await services.imports.run_slice(ImportData(import_id=record.id, slice=0, spec=spec), budget=None)
    assert stale.next is None and (await services.imports.record(record.id)).read == 27


async def test_a_missing_index_or_cluster_is_refused_at_start(services: Services, old_cluster: str) -> None:
    for url, index in [(old_cluster, "no-such-index"), ("http://127.0.0.1:9", "x")]:
        spec = ImportSpec(source=IndexSource(url=url, index=index), target="profiles", preset="tracardi-profile")
        with pytest.raises(InvalidInput) as caught:
            await services.imports.start(spec)
        assert caught.value.errors[0].loc == ["body", "source", "url"]


async def test_into_an_opensearch_installation_with_redis_queues(
    make_settings: SettingsFactory, osmem_url: str, redis_url: str, redis_prefix: str, old_cluster: str
) -> None:
    """The scale-out shape: the import's record, bad rows and documents on OpenSearch, its jobs on Redis."""
    settings = make_settings(
        storage={"backend": "opensearch"},
        opensearch={"hosts": osmem_url, "prefix": "app"},
        redis={"url": redis_url, "prefix": redis_prefix},
    )
    async with open_services(settings) as services:
        spec = ImportSpec(
            source=IndexSource(url=old_cluster, index=OLD_PROFILES), target="profiles", preset="tracardi-profile"
        )
        record = await services.imports.start(spec)
        await burst(services)
        done = await services.imports.record(record.id)
        assert (done.status, done.imported, done.failed) == ("done", 26, 1)
        (error,) = (await services.imports.errors(record.id, limit=5, after=None)).items
        assert error.doc.line == 1  # "bad" sorts first by _id
        assert (await services.imports.list_imports(limit=5, after=None)).items[0].doc.id == record.id
        stored = await services.store.get(PROFILES, "p3")
        assert stored is not None and stored.doc.data.contact.email.main == "a3@x.io"
