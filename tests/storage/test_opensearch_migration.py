"""``migrate up`` on OpenSearch (osmem): event months are migrated too, no write made during it is lost, and a
migration that crashed mid-copy resumes and verifies.

A change of the ``sortable`` option changes the stored form, so the store built with ``sortable = "any"`` finds
the indices a default store made outdated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tracardi.domain.common import Entity
from tracardi.domain.event import Event
from tracardi.domain.profile import Profile
from tracardi.domain.query import Eq
from tracardi.storage import EVENTS, PROFILES, MigrationStep, Put, StorageError
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.opensearch import Migrations, OpenSearchDocumentStore, OpenSearchOptions

MAY = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
JUNE = datetime(2024, 6, 7, 10, 0, tzinfo=UTC)
JULY = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def event(event_id: str, when: datetime | None, step: int = 0) -> Event:
    ev = Event(id=event_id, type="page-view", source=Entity(id="web"), properties={"step": step})
    ev.metadata.time.insert = when
    return ev


@pytest.fixture
async def hosts(osmem_url: str) -> AsyncIterator[tuple[OpenSearchDocumentStore, OpenSearchDocumentStore]]:
    """A host on the old stored form with data in two months and without a time, and a host on the new form."""
    old = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="mig"), ALL_INDICES)
    new = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="mig", sortable="any"), ALL_INDICES)
    await old.migrate()
    seed = [event(f"may-{i:03}", MAY) for i in range(30)] + [event(f"jun-{i:03}", JUNE) for i in range(20)]
    seed.append(event("timeless", None))
    assert all(r.ok for r in await old.bulk([Put(EVENTS, e.id, e) for e in seed]))
    await old.put(PROFILES, "p1", Profile(id="p1"))
    yield old, new
    await old.close()
    await new.close()


async def test_up_migrates_every_event_month_behind_its_aliases(
    hosts: tuple[OpenSearchDocumentStore, OpenSearchDocumentStore],
) -> None:
    old, new = hosts
    before = {s.alias: s for s in await Migrations(new).status()}
    assert {"mig.event-2024.05", "mig.event-2024.06", "mig.event-none"} <= set(before)
    assert not before["mig.event-2024.05"].up_to_date and before["mig.event-2024.05"].count == 30

    states = {s.alias: s for s in await Migrations(new).up(batch=7)}
    may = states["mig.event-2024.05"]
    assert (may.current, may.up_to_date, may.count, may.old) == (
        "mig.event.v2-2024.05",
        True,
        30,
        ["mig.event.v1-2024.05"],
    )
    assert states["mig.event-none"].current == "mig.event.v2-none"
    assert all(state.up_to_date for state in states.values())
    # searches see each event once (the read alias left the old months), reads by id find the new copies
    assert await new.count(EVENTS) == 51
    assert await old.count(EVENTS, Eq(field="type", value="page-view")) == 51
    got = await old.get(EVENTS, "jun-003")
    assert got is not None and got.version == 1
    deleted = await Migrations(new).cleanup()
    assert {"mig.event.v1-2024.05", "mig.event.v1-2024.06", "mig.event.v1-none", "mig.profile.v1"} <= set(deleted)
    assert await new.count(EVENTS) == 51


async def test_no_write_made_during_the_migration_is_lost(
    hosts: tuple[OpenSearchDocumentStore, OpenSearchDocumentStore],
) -> None:
    """At every step of the copy (during it, before and after the switch) both hosts write: all of it survives."""
    old, new = hosts
    written: set[str] = set()
    updated: dict[str, int] = {}
    stages: list[str] = []

    async def write_meanwhile(step: MigrationStep) -> None:
        stages.append(step.stage)
        n = len(stages)
        for host, month in ((old, MAY), (new, JUNE), (new, JULY)):  # a new month, made by a host on the new form
            event_id = f"live-{n}-{month:%m}-{id(host) % 7}"
            await host.put(EVENTS, event_id, event(event_id, month))
            written.add(event_id)
        # an update of a seeded event, by a host whose remembered sequence numbers may belong to the old month
        target = f"may-{n % 30:03}"
        got = await old.get(EVENTS, target)
        assert got is not None
        got.doc.properties["step"] = n
        await old.put(EVENTS, target, got.doc, if_version=got.version)
        updated[target] = n

    states = await Migrations(new, write_meanwhile).up(batch=10)
    assert all(state.up_to_date for state in states)
    assert {"copy", "catch-up", "switch", "replay", "verified"} <= set(stages)
    found = {v.doc.id for v in await new.get_many(EVENTS, sorted(written))}
    assert found == written
    assert await new.count(EVENTS) == 51 + len(written)
    for event_id, step in updated.items():
        got = await new.get(EVENTS, event_id)
        assert got is not None and got.doc.properties["step"] == step, event_id


class Crash(Exception):
    """The worker dies here."""


async def test_a_migration_that_crashed_mid_copy_resumes_and_verifies(
    hosts: tuple[OpenSearchDocumentStore, OpenSearchDocumentStore],
) -> None:
    _, new = hosts
    batches = 0

    async def crash_after_two_batches(step: MigrationStep) -> None:
        nonlocal batches
        if step.alias == "mig.event-2024.05" and step.stage == "copy":
            batches += 1
            if batches == 2:
                raise Crash

    with pytest.raises(Crash):
        await Migrations(new, crash_after_two_batches).up(batch=10)
    state = {s.alias: s for s in await Migrations(new).status()}["mig.event-2024.05"]
    assert (state.current, state.pending) == ("mig.event.v1-2024.05", "mig.event.v2-2024.05")

    first_pass: list[int] = []

    async def watch(step: MigrationStep) -> None:
        if step.alias == "mig.event-2024.05" and step.stage == "copy":
            first_pass.append(step.done)

    states = {s.alias: s for s in await Migrations(new, watch).up(batch=10)}
    assert states["mig.event-2024.05"].up_to_date and states["mig.event-2024.05"].current == "mig.event.v2-2024.05"
    assert max(first_pass) < 30, "the first pass resumed after what the crashed run had copied"
    assert await new.count(EVENTS) == 51


async def test_a_verification_that_finds_documents_missing_fails(
    hosts: tuple[OpenSearchDocumentStore, OpenSearchDocumentStore],
) -> None:
    """The check at the end is real: a copy that lost documents is reported, the aliases already switched."""
    _, new = hosts

    async def lose_documents(step: MigrationStep) -> None:
        if step.stage == "replay" and step.alias == "mig.profile":
            await new._client.delete(index=step.target, id="p1", params={"refresh": "true"})

    with pytest.raises(StorageError, match=r"mig\.profile"):
        await Migrations(new, lose_documents).up(batch=10)


async def test_months_made_before_month_aliases_are_adopted(osmem_url: str) -> None:
    """A partition with only the read alias (the earlier layout) gets its month alias from ``migrate()``."""
    store = OpenSearchDocumentStore(OpenSearchOptions(hosts=osmem_url, prefix="legacy"), ALL_INDICES)
    try:
        client = store._client
        await client.indices.create(index="legacy.event.v1-2024.05", body={"aliases": {"legacy.event": {}}})
        source = {"id": "old-1", "type": "page-view", "source": {"id": "web"}, "metadata": {"time": {}}}
        await client.index(index="legacy.event.v1-2024.05", id="old-1", body=source, params={"refresh": "true"})
        await store.migrate()
        aliases = await client.indices.get_alias(index="legacy.event.v1-2024.05")
        assert aliases["legacy.event.v1-2024.05"]["aliases"]["legacy.event-2024.05"] == {"is_write_index": True}
        got = await store.get(EVENTS, "old-1")
        assert got is not None and got.doc.type == "page-view"
    finally:
        await store.close()
