"""The import worker end to end on the embedded store: CSV and JSON lines, profiles and events, bad rows kept."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from tests.conftest import payload
from tests.imports.conftest import BAD_LINES, burst, write_csv
from tracardi.domain.imports import CsvSource, FieldMap, ImportSpec, JsonLinesSource
from tracardi.domain.messages import IMPORT
from tracardi.domain.payload import TrackerPayload
from tracardi.domain.query import Eq
from tracardi.services import Services
from tracardi.storage import EVENTS, PROFILES
from tracardi.workers import WorkerOptions, WorkersOptions

PROFILE_MAP = [
    FieldMap(source="id", target="id"),
    FieldMap(source="email", target="data.contact.email.main"),
    FieldMap(source="age", target="traits.age", type="int"),
    FieldMap(source="vip", target="traits.vip", type="bool"),
]


async def test_a_10000_row_csv_with_3_bad_rows(services: Services, folder: Path) -> None:
    write_csv(folder / "customers.csv")
    spec = ImportSpec(source=CsvSource(path="customers.csv"), target="profiles", mapping=PROFILE_MAP, batch_size=700)
    record = await services.imports.start(spec)
    assert record.status == "queued" and record.size == (folder / "customers.csv").stat().st_size
    await burst(services)

    done = await services.imports.record(record.id)
    assert (done.status, done.read, done.imported, done.failed) == ("done", 10_000, 9_997, 3)
    assert done.checkpoint.offset == done.size
    assert await services.store.count(PROFILES) == 9_997
    errors = (await services.imports.errors(record.id, limit=10, after=None)).items
    assert [(e.doc.line, e.doc.error.split(":")[0]) for e in errors] == [
        (BAD_LINES[0], "2 fields, the header has 4"),
        (BAD_LINES[1], "age"),
        (BAD_LINES[2], "not valid utf-8 at byte 14 of the line"),
    ]
    assert "forty" in errors[1].doc.error and "c5001" in errors[1].doc.row
    stored = await services.store.get(PROFILES, "c42")
    assert stored is not None
    assert stored.doc.traits == {"age": 42, "vip": False} and stored.doc.data.contact.email.main == "c42@example.com"
    assert stored.doc.ids == ["c42"] and stored.doc.metadata.time.insert is not None


async def test_a_long_import_runs_as_a_chain_of_slices(services: Services, folder: Path) -> None:
    """With a tiny visibility each job runs one short slice and queues the next; nothing is read twice."""
    write_csv(folder / "c.csv", rows=3_000, bad=())
    spec = ImportSpec(
        source=CsvSource(path="c.csv"), target="profiles", mapping=PROFILE_MAP, batch_size=100, rows_per_second=2_000
    )
    record = await services.imports.start(spec)
    short = WorkersOptions(default=WorkerOptions(visibility=1.5, poll=0.05, backoff_min=0.01))
    await burst(services, short)
    done = await services.imports.record(record.id)
    assert (done.status, done.read, done.imported, done.failed) == ("done", 3_000, 3_000, 0)
    assert done.slice >= 2, "the import ran in several jobs"
    stats = await services.queue.stats(IMPORT)
    assert (stats.depth, stats.dead) == (0, 0)


async def test_json_lines_of_events(services: Services, folder: Path) -> None:
    lines = [
        {"event": "Purchase", "at": "2024-03-01T10:00:00Z", "customer": {"id": "p1"}, "total": "12.50"},
        {"event": "page view", "at": 1709287200, "customer": {"id": "p2"}},
        "not an object",
        {"at": "2024-03-01T10:00:00Z"},
        {"event": "purchase", "at": "yesterday"},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{broken\n\n"
    (folder / "events.jsonl").write_text(text)
    spec = ImportSpec(
        source=JsonLinesSource(path="events.jsonl"),
        target="events",
        source_id="legacy-shop",
        mapping=[
            FieldMap(source="event", target="type"),
            FieldMap(source="at", target="metadata.time.insert", type="datetime"),
            FieldMap(source="customer.id", target="profile.id"),
            FieldMap(source="total", target="properties.total", type="float"),
        ],
    )
    record = await services.imports.start(spec)
    await burst(services)
    done = await services.imports.record(record.id)
    assert (done.read, done.imported, done.failed) == (6, 2, 4)
    errors = {e.doc.line: e.doc.error for e in (await services.imports.errors(record.id, limit=10, after=None)).items}
    assert set(errors) == {3, 4, 5, 6}
    assert errors[3].startswith("a JSON object expected") and errors[6].startswith("invalid JSON")
    assert "type: missing" in errors[4] and "at: cannot convert to datetime" in errors[5]
    purchases = (await services.store.query(EVENTS, Eq(field="profile.id", value="p1"))).items
    (purchase,) = [p.doc for p in purchases]
    assert (purchase.type, purchase.name, purchase.source.id) == ("purchase", "Purchase", "legacy-shop")
    assert purchase.properties == {"total": 12.5} and purchase.metadata.time.insert.isoformat().startswith("2024-03-01")
    view = (await services.store.query(EVENTS, Eq(field="profile.id", value="p2"))).items[0].doc
    assert view.type == "page-view" and view.metadata.time.insert.timestamp() == 1709287200


async def test_events_through_the_tracker_update_profiles_once(services: Services, folder: Path) -> None:
    tracked = await services.tracker.track(msgspec.convert(payload(), TrackerPayload))
    assert tracked.profile is not None
    profile_id = tracked.profile.id
    rows = "\n".join(json.dumps({"t": "page-view", "p": profile_id, "s": "visit-1"}) for _ in range(5))
    (folder / "views.jsonl").write_text(rows + "\n")
    spec = ImportSpec(
        source=JsonLinesSource(path="views.jsonl"),
        target="events",
        source_id="demo",
        track=True,
        mapping=[
            FieldMap(source="t", target="type"),
            FieldMap(source="p", target="profile.id"),
            FieldMap(source="s", target="session.id"),
        ],
    )
    record = await services.imports.start(spec)
    await burst(services)
    assert (await services.imports.record(record.id)).imported == 5
    stored = await services.store.get(PROFILES, profile_id)
    assert stored is not None and stored.doc.stats.views == 1 + 5
    views = await services.store.count(EVENTS, Eq(field="profile.id", value=profile_id))
    # the first /track stored its page view and system events; the import added exactly five
    assert views == len(tracked.events) + 5 + 2  # + visit-started and session-opened of the new session "visit-1"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"source": {"kind": "csv", "path": "x.csv"}, "target": "profiles"}, "mapping"),
        ({"source": {"kind": "csv", "path": "x.csv"}, "target": "events", "preset": "tracardi-profile"}, "preset"),
        (
            {
                "source": {"kind": "csv", "path": "x.csv", "delimiter": ",,"},
                "target": "profiles",
                "preset": "tracardi-profile",
            },
            "delimiter",
        ),
        (
            {
                "source": {"kind": "csv", "path": "x.csv", "encoding": "utf-16"},
                "target": "profiles",
                "preset": "tracardi-profile",
            },
            "encoding",
        ),
        (
            {
                "source": {"kind": "csv", "path": "x.csv"},
                "target": "profiles",
                "mapping": [{"source": "a", "target": "data.pii.nmae"}],
            },
            "target",
        ),
        (
            {
                "source": {"kind": "csv", "path": "x.csv"},
                "target": "profiles",
                "mapping": [{"source": "a", "target": "traits..x"}],
            },
            "target",
        ),
        (
            {
                "source": {"kind": "csv", "path": "x.csv"},
                "target": "profiles",
                "preset": "tracardi-profile",
                "batch_size": 0,
            },
            "batch_size",
        ),
        (
            {
                "source": {"kind": "csv", "path": "x.csv"},
                "target": "profiles",
                "preset": "tracardi-profile",
                "track": True,
            },
            "track",
        ),
        (
            {
                "source": {"kind": "index", "url": "file:///etc", "index": "x"},
                "target": "profiles",
                "preset": "tracardi-profile",
            },
            "url",
        ),
    ],
)
async def test_bad_specs_name_their_field(services: Services, spec: dict, field: str) -> None:
    from tracardi.domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        await services.imports.start(msgspec.convert(spec, ImportSpec))
    assert caught.value.errors[0].loc[-1] == field


async def test_a_vanished_file_fails_the_import_and_a_replay_resumes_it(services: Services, folder: Path) -> None:
    write_csv(folder / "gone.csv", rows=100, bad=())
    spec = ImportSpec(source=CsvSource(path="gone.csv"), target="profiles", mapping=PROFILE_MAP)
    record = await services.imports.start(spec)
    (folder / "gone.csv").rename(folder / "kept.csv")
    await burst(services)
    failed = await services.imports.record(record.id)
    assert (failed.status, failed.read) == ("failed", 0) and "no file `gone.csv`" in failed.error
    (dead,) = await services.queue.dead_letters(IMPORT)
    assert dead.error.startswith("aborted: no file")
    (folder / "kept.csv").rename(folder / "gone.csv")
    assert await services.queue.replay(IMPORT, dead.id)
    await burst(services)
    done = await services.imports.record(record.id)
    assert (done.status, done.imported, done.error) == ("done", 100, "")
