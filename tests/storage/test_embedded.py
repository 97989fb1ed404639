"""The SQLite document store: the port's contract, plus what only the embedded adapter promises."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.storage.contract import CACHED, CONTRACT_INDICES, DECLARED, Doc, DocumentStoreContract
from tests.storage.sqlite_helpers import db, rows, store_at
from tracardi.domain.query import And, Eq, In, Not, Range, Sort
from tracardi.storage import Delete, Index, InvalidQuery, Put, StorageError, Unavailable
from tracardi.storage.embedded import SqliteDocumentStore, _checkpoint
from tracardi.storage.embedded import documents as documents_module
from tracardi.storage.embedded._connect import BUSY_TIMEOUT_MS

__all__ = ["db"]  # the fixture


class TestSqliteContract(DocumentStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
        store = SqliteDocumentStore(tmp_path / "docs.sqlite", CONTRACT_INDICES)
        await store.migrate()
        yield store
        await store.close()


# -- durability and schema ----------------------------------------------------------------------------------------


async def test_writes_survive_a_reopen(db: Path) -> None:
    async with store_at(db) as store:
        await store.put(DECLARED, "a", Doc(id="a", tags=["x", "y"]))
        await store.put(DECLARED, "a", Doc(id="a", tags=["x", "z"]))
        await store.put(CACHED, "b", Doc(id="b", name="kept"))
    async with store_at(db, migrate=False) as store:
        got = await store.get(DECLARED, "a")
        assert got is not None
        assert (got.doc.tags, got.version) == (["x", "z"], 2)
        assert await store.count(DECLARED, Eq(field="tags", value="z")) == 1
        assert await store.count(DECLARED, Eq(field="tags", value="y")) == 0
        assert await store.put(CACHED, "b", Doc(id="b"), if_version=1) == 2


async def test_a_write_before_migrate_fails_and_creates_nothing(db: Path) -> None:
    async with store_at(db, migrate=False) as store:
        with pytest.raises(StorageError, match="migrate"):
            await store.put(DECLARED, "a", Doc(id="a"))
        with pytest.raises(StorageError, match="migrate"):
            await store.bulk([Put(DECLARED, "a", Doc(id="a"))])
        with pytest.raises(StorageError, match="migrate"):
            await store.get(DECLARED, "a")
    assert rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'") == []


# -- group commit and the writer ----------------------------------------------------------------------------------


async def test_concurrent_bulks_share_commits(db: Path) -> None:
    async with store_at(db) as store:
        before = store.commits

        async def write(i: int) -> None:
            results = await store.bulk(
                [Put(DECLARED, f"p{i}", Doc(id=f"p{i}")), Put(CACHED, f"s{i}", Doc(id=f"s{i}"))]
                + [Put(DECLARED, f"e{i}-{j}", Doc(id=f"e{i}-{j}")) for j in range(3)]
            )
            assert all(r.ok for r in results)

        await asyncio.gather(*(write(i) for i in range(200)))
        assert await store.count(DECLARED) == 800
        assert store.commits - before < 20


async def test_a_result_means_the_write_is_in_the_file(db: Path) -> None:
    async with store_at(db) as store:

        async def write(i: int) -> None:
            await store.bulk([Put(DECLARED, f"w{i}", Doc(id=f"w{i}", n=i))])
            # Visible to an unrelated connection the moment the caller hears back: committed, not queued.
            assert rows(db, 'SELECT version FROM "doc_contract_declared" WHERE id = ?', (f"w{i}",)) == [(1,)]

        await asyncio.gather(*(write(i) for i in range(30)))


async def test_close_commits_what_is_queued(db: Path) -> None:
    store = SqliteDocumentStore(db, CONTRACT_INDICES)
    await store.migrate()
    tasks = [asyncio.create_task(store.put(DECLARED, f"q{i}", Doc(id=f"q{i}"))) for i in range(50)]
    await asyncio.sleep(0)  # every task has queued its write
    await store.close()
    assert [task.result() for task in tasks] == [1] * 50
    assert rows(db, 'SELECT count(*) FROM "doc_contract_declared"') == [(50,)]
    assert not [t for t in threading.enumerate() if t.name == f"sqlite-writer:{db.name}"]


async def test_a_cancelled_caller_leaves_the_others_alone(db: Path) -> None:
    async with store_at(db) as store:
        doomed = asyncio.create_task(store.put(DECLARED, "c", Doc(id="c")))
        others = [asyncio.create_task(store.put(DECLARED, f"o{i}", Doc(id=f"o{i}"))) for i in range(5)]
        await asyncio.sleep(0)
        doomed.cancel()
        assert await asyncio.gather(*others) == [1] * 5
        with pytest.raises(asyncio.CancelledError):
            await doomed
        assert await store.count(DECLARED) == 6  # the write was already queued; it stands


async def test_a_failing_run_fails_only_its_own_jobs(db: Path) -> None:
    """Jobs queued together share a transaction, but one that breaks is undone alone."""

    def boom(cur: sqlite3.Cursor, args: list[Any], changes: list[Any]) -> list[Any]:
        cur.execute("""INSERT INTO "doc_contract_declared" (id, version, doc) VALUES ('ghost', 1, '{"id":"ghost"}')""")
        raise sqlite3.OperationalError("disk on fire")

    async with store_at(db) as store:
        started, gate = threading.Event(), threading.Event()

        def hold(cur: sqlite3.Cursor, args: list[Any], changes: list[Any]) -> list[Any]:
            started.set()
            gate.wait(5)
            return [None for _ in args]

        holder = asyncio.create_task(store._writer.call(hold, None))
        await asyncio.to_thread(started.wait, 5)
        first = asyncio.create_task(store.put(DECLARED, "a", Doc(id="a")))
        broken = asyncio.create_task(store._writer.call(boom, None))
        second = asyncio.create_task(store.put(DECLARED, "b", Doc(id="b")))
        await asyncio.sleep(0)  # all three are queued behind the held group: they form the next one
        commits = store.commits
        gate.set()
        await holder
        assert await first == 1
        assert await second == 1
        with pytest.raises(Unavailable, match="disk on fire"):
            await broken
        assert store.commits == commits + 2
        assert await store.get(DECLARED, "ghost") is None
        with pytest.raises(Unavailable, match="disk on fire"):
            await store._writer.call(boom, None)  # alone in its group: the whole transaction is rolled back
        assert await store.get(DECLARED, "ghost") is None
        assert await store.put(DECLARED, "c", Doc(id="c")) == 1


async def test_a_bad_item_fails_alone(db: Path) -> None:
    class Other(msgspec.Struct):
        x: int = 0

    async with store_at(db) as store:
        results = await store.bulk(
            [
                Put(DECLARED, "a", Doc(id="a")),
                Put(DECLARED, "b", Other()),  # type: ignore[arg-type]
                Put(DECLARED, "", Doc(id="")),
                Put(DECLARED, "c", Doc(id="c"), if_version=1, create=True),
                Put(DECLARED, "d", Doc(id="d")),
            ]
        )
        assert [r.ok for r in results] == [True, False, False, False, True]
        assert all(type(r.error) is StorageError for r in results[1:4])


async def test_an_unreachable_file_is_unavailable(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "missing-dir" / "x.sqlite", CONTRACT_INDICES)
    with pytest.raises(Unavailable):
        await store.migrate()
    with pytest.raises(Unavailable):
        await store.ping()
    await store.close()


async def test_a_corrupt_document_is_a_storage_error(db: Path) -> None:
    async with store_at(db) as store:
        await store.put(DECLARED, "a", Doc(id="a"))
        with contextlib.closing(sqlite3.connect(db)) as conn:
            conn.execute("""UPDATE "doc_contract_declared" SET doc = '{"id": 5}' WHERE id = 'a'""")
            conn.commit()
        with pytest.raises(StorageError, match="does not decode"):
            await store.get(DECLARED, "a")


# -- the read cache -----------------------------------------------------------------------------------------------


async def test_a_cached_get_completes_without_suspending(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with store_at(db) as store:
        await store.put(CACHED, "a", Doc(id="a", n=1))
        await store.put(DECLARED, "a", Doc(id="a", n=1))

        def no_threads(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a thread was used")

        with monkeypatch.context() as patch:
            patch.setattr(asyncio, "to_thread", no_threads)
            coro = store.get(CACHED, "a")
            with pytest.raises(StopIteration) as done:
                coro.send(None)  # one step, no await on anything: answered from memory
            assert done.value.value.doc.n == 1
            with pytest.raises(AssertionError, match="thread"):
                await store.get(DECLARED, "a")


@pytest.mark.parametrize("change", ["put", "delete"])
async def test_a_read_that_raced_a_write_does_not_refill_the_cache(
    db: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A read that started before a commit and ends after it must not put its older answer in the cache."""
    async with store_at(db) as store:
        await store.put(CACHED, "a", Doc(id="a", n=1))
        cache = store._tables["contract-cached"].cache
        assert cache is not None
        cache.committed("a", None)  # forget it, so the next get reads the file
        read_done = threading.Event()
        release = threading.Event()
        real_read_one = documents_module.read_one

        def slow_read_one(*args: Any) -> Any:
            row = real_read_one(*args)
            read_done.set()
            release.wait(5)
            return row

        monkeypatch.setattr(documents_module, "read_one", slow_read_one)
        racing_get = asyncio.create_task(store.get(CACHED, "a"))
        await asyncio.to_thread(read_done.wait, 5)
        if change == "put":
            assert await store.put(CACHED, "a", Doc(id="a", n=2)) == 2
        else:
            assert await store.delete(CACHED, "a") is True
        release.set()
        stale = await racing_get
        assert stale is not None
        assert stale.version == 1  # concurrent with the write, so the older answer is fair
        monkeypatch.setattr(documents_module, "read_one", real_read_one)
        fresh = await store.get(CACHED, "a")
        if change == "put":
            assert fresh is not None
            assert (fresh.doc.n, fresh.version) == (2, 2)
        else:
            assert fresh is None


async def test_the_cache_stays_exact_under_concurrent_writes(db: Path) -> None:
    """Each worker owns two ids and must read back exactly what it wrote, while all share one small cache."""
    async with store_at(db, cache_size=8) as store:

        async def worker(w: int) -> None:
            mine: dict[str, tuple[int, int] | None] = {}
            for step in range(30):
                doc_id = f"x{w}-{step % 2}"
                before = mine.get(doc_id)
                if step % 5 == 4:
                    assert await store.delete(CACHED, doc_id) is (before is not None)
                    mine[doc_id] = None
                else:
                    version = await store.put(CACHED, doc_id, Doc(id=doc_id, n=step))
                    assert version == (before[0] + 1 if before else 1)
                    mine[doc_id] = (version, step)
                got = await store.get(CACHED, doc_id)
                assert (None if got is None else (got.version, got.doc.n)) == mine[doc_id]
                await store.get(CACHED, f"x{(w + 1) % 10}-{step % 2}")  # someone else's, being written

        await asyncio.gather(*(worker(w) for w in range(10)))
        stored = {
            i: (v, msgspec.json.decode(d, type=Doc))
            for i, v, d in rows(db, 'SELECT id, version, doc FROM "doc_contract_cached"')
        }
        for doc_id in [f"x{w}-{k}" for w in range(10) for k in range(2)]:
            got = await store.get(CACHED, doc_id)
            assert (None if got is None else (got.version, got.doc)) == stored.get(doc_id)
        cache = store._tables["contract-cached"].cache
        assert cache is not None
        assert len(cache) <= 8


async def test_get_many_mixes_cache_hits_and_reads(db: Path) -> None:
    async with store_at(db, cache_size=2) as store:
        await store.bulk([Put(CACHED, f"m{i}", Doc(id=f"m{i}", n=i)) for i in range(5)])
        got = await store.get_many(CACHED, ["m4", "m0", "nope", "m3", "m0"])
        assert [(g.doc.id, g.doc.n) for g in got] == [("m4", 4), ("m0", 0), ("m3", 3), ("m0", 0)]
        got[1].doc.n = 99
        assert got[3].doc.n == 0  # every item is its own copy


# -- queries the embedded compiler treats specially ---------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        Eq(field="time", value=datetime(2024, 5, 1, 10, 0)),  # naive: times must be UTC-aware
        Eq(field="n", value=object()),
        Eq(field="n", value=[1, 2]),
        Eq(field="n", value=float("nan")),
        Eq(field="n", value=2**70),
        Range(field="n", gt=1, lt="z"),
        Range(field="n", gt=True),
        In(field="n", values="abc"),  # type: ignore[arg-type]
        And(items=Eq(field="n", value=1)),  # type: ignore[arg-type]
        "n = 1",
    ],
    ids=[
        "naive-time",
        "object",
        "list",
        "nan",
        "huge-int",
        "mixed-range",
        "bool-range",
        "in-str",
        "and-not-tuple",
        "str",
    ],
)
async def test_uncompilable_queries_are_invalid(db: Path, where: Any) -> None:
    async with store_at(db) as store:
        with pytest.raises(InvalidQuery):
            await store.count(DECLARED, where)


async def test_deep_nesting_is_refused(db: Path) -> None:
    where: Any = Eq(field="n", value=1)
    for _ in range(40):
        where = Not(item=where)
    async with store_at(db) as store:
        with pytest.raises(InvalidQuery, match="deeper"):
            await store.count(DECLARED, where)


async def test_datetimes_compare_as_utc_iso_strings(db: Path) -> None:
    moment = datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    async with store_at(db) as store:
        await store.put(DECLARED, "a", Doc(id="a", time=moment))
        await store.put(DECLARED, "b", Doc(id="b", data={"when": moment}))
        elsewhere = moment.astimezone(timezone(timedelta(hours=-5)))
        assert await store.count(DECLARED, Eq(field="time", value=elsewhere)) == 1
        assert await store.count(DECLARED, Eq(field="data.when", value=moment)) == 1
        stored = rows(db, """SELECT json_extract(doc, '$.time') FROM "doc_contract_declared" WHERE id = 'a'""")
        assert stored == [("2024-05-01T10:00:00.250000Z",)]


async def test_long_in_lists_and_sort_cursor_checks(db: Path) -> None:
    async with store_at(db) as store:
        await store.bulk([Put(DECLARED, f"n{i}", Doc(id=f"n{i}", n=i, tags=[str(i)])) for i in range(10)])
        assert await store.count(DECLARED, In(field="n", values=tuple(range(5, 500)))) == 5
        assert await store.count(DECLARED, In(field="tags", values=tuple(str(i) for i in range(3, 300)))) == 7
        assert await store.count(DECLARED, In(field="n", values=(1, None))) == 1
        page = await store.query(DECLARED, sort=[Sort(field="n")], limit=3)
        assert page.next is not None
        with pytest.raises(InvalidQuery, match="another sort"):
            await store.query(DECLARED, sort=[Sort(field="n", desc=True)], after=page.next)
        with pytest.raises(InvalidQuery):
            await store.query(DECLARED, limit=0)
        with pytest.raises(InvalidQuery):
            [page async for page in store.scan(DECLARED, page_size=0)]


# -- construction ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indices", "options", "error"),
    [
        ((DECLARED, DECLARED), {}, StorageError),
        ((Index("a-b", Doc), Index("a_b", Doc)), {}, StorageError),
        ((Index("bad", Doc, fields=("a'b",)),), {}, InvalidQuery),
        ((Index("", Doc),), {}, StorageError),
        ((DECLARED,), {"synchronous": "SOMETIMES"}, StorageError),
    ],
    ids=["twice", "same-table", "bad-field", "no-name", "bad-synchronous"],
)
def test_bad_declarations_are_refused(
    tmp_path: Path, indices: tuple[Index[Any], ...], options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        SqliteDocumentStore(tmp_path / "x.sqlite", indices, **options)


async def test_an_undeclared_index_is_refused(db: Path) -> None:
    async with store_at(db, (DECLARED,)) as store:
        with pytest.raises(StorageError, match="not declared"):
            await store.get(CACHED, "a")
        with pytest.raises(StorageError, match="not declared"):
            await store.bulk([Delete(CACHED, "a")])


async def test_synchronous_normal_still_stores(db: Path) -> None:
    async with store_at(db, synchronous="normal") as store:
        await store.put(DECLARED, "a", Doc(id="a"))
    async with store_at(db) as store:
        assert await store.get(DECLARED, "a") is not None


class Blob(msgspec.Struct):
    id: str
    text: str


BLOBS = Index("blob", Blob)


async def _wal_store(path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int) -> SqliteDocumentStore:
    """A store whose checkpointer looks at the WAL every 20 ms and acts past ``threshold`` bytes."""
    monkeypatch.setattr(_checkpoint, "CHECK_EVERY_S", 0.02)
    store = SqliteDocumentStore(path, [BLOBS], synchronous="NORMAL")
    store._checkpointer._threshold = threshold
    await store.migrate()
    return store


def _blobs(tag: str, n: int) -> list[Put[Blob]]:
    return [Put(BLOBS, f"{tag}-{i}", Blob(id=f"{tag}-{i}", text="x" * 4000)) for i in range(n)]


async def test_wal_is_checkpointed_off_the_commit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under steady writes the WAL starts over instead of growing with everything written (commits never
    checkpoint themselves), and nothing written is lost."""
    store = await _wal_store(tmp_path / "db.sqlite", monkeypatch, 256 * 1024)
    wal = tmp_path / "db.sqlite-wal"
    written = rounds = 0
    try:
        while rounds < 400 and (rounds < 40 or store._writer.wal_resets < 3):
            await store.bulk(_blobs(str(rounds), 20))
            written += 20 * 4000
            rounds += 1
            await asyncio.sleep(0.002)  # steady traffic, as from visitors, not one burst
        assert store._checkpointer.checkpoints > 0 and store._writer.wal_resets >= 3
        assert wal.stat().st_size < written / 2, "the WAL grew with everything written"
        assert await store.count(BLOBS) == rounds * 20
    finally:
        await store.close()
    assert not wal.exists() or wal.stat().st_size == 0


async def test_a_reader_on_the_wal_never_stalls_the_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long read (a reader's open snapshot) keeps the WAL from starting over; writes go on meanwhile instead of
    waiting the busy timeout (5 s) behind it, and the WAL starts over once the reader is done."""
    store = await _wal_store(tmp_path / "db.sqlite", monkeypatch, 64 * 1024)
    reader = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    written = 0

    async def write(rounds: int) -> float:
        nonlocal written
        slowest = 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            await store.bulk(_blobs(str(written), 8))
            written += 1
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.005)
        return slowest

    try:
        await write(5)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # holds its snapshot of the log
        checkpoints = store._checkpointer.checkpoints
        slowest = await write(60)
        assert store._checkpointer.checkpoints > checkpoints, "the checkpointer did not run meanwhile"
        assert slowest < BUSY_TIMEOUT_MS / 1000 / 2, f"a write waited {slowest:.1f} s behind the reader"
        reader.execute("COMMIT")
        resets = store._writer.wal_resets
        for _ in range(100):
            await write(1)
            if store._writer.wal_resets > resets:
                break
        assert store._writer.wal_resets > resets, "the WAL never started over after the reader left"
        assert await store.count(BLOBS) == 8 * written
    finally:
        reader.close()
        await store.close()
