"""The SQLite store's schema: its layout, the columns of declared fields, and migrations."""

from __future__ import annotations

import contextlib
import enum
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.storage.contract import CONDITIONS, DATASET, DECLARED, Doc, Ref
from tests.storage.sqlite_helpers import db, rows, store_at
from tracardi.domain.query import Eq, Exists, Range, Sort
from tracardi.storage import Index, Put, StorageError
from tracardi.storage.embedded._compile import compile_where
from tracardi.storage.embedded._sql import IndexTable, json_path

__all__ = ["db"]  # the fixture


async def test_migrate_is_idempotent(db: Path) -> None:
    async with store_at(db) as store:
        await store.put(DECLARED, "a", Doc(id="a", tags=["t"]))
        schema = rows(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        versions = rows(db, "SELECT * FROM schema_version ORDER BY name")
        await store.migrate()
        await store.migrate()
        assert rows(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema
        assert rows(db, "SELECT * FROM schema_version ORDER BY name") == versions
        assert await store.count(DECLARED, Eq(field="tags", value="t")) == 1
    names = {name for (name,) in rows(db, "SELECT name FROM schema_version")}
    assert names == {"core", "index:contract-declared", "index:contract-cached", "index:contract-undeclared"}


async def test_an_index_added_later_gets_its_table_on_migrate(db: Path) -> None:
    late = Index("late.index", Doc, fields=("n",))
    async with store_at(db, (DECLARED,)) as store:
        await store.put(DECLARED, "a", Doc(id="a"))
    async with store_at(db, (DECLARED, late), migrate=False) as store:
        assert await store.get(DECLARED, "a") is not None
        with pytest.raises(StorageError, match="migrate"):
            await store.put(late, "x", Doc(id="x"))
        await store.migrate()
        assert await store.put(late, "x", Doc(id="x", n=3)) == 1
        assert await store.count(late, Eq(field="n", value=3)) == 1
        got = await store.get(DECLARED, "a")
        assert got is not None
        assert got.version == 1
    tables = {name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"doc_contract_declared", "doc_late_index", "schema_version", "multi_values"} <= tables


async def test_a_changed_declaration_is_migrated(db: Path) -> None:
    before = Index("things", Doc, fields=("n",))
    after = Index("things", Doc, fields=("name",), multi=("tags",))
    async with store_at(db, (before,)) as store:
        await store.bulk([Put(before, f"t{i}", Doc(id=f"t{i}", n=i, tags=[f"tag{i % 2}"])) for i in range(6)])
    async with store_at(db, (after,), migrate=False) as store:
        with pytest.raises(StorageError, match="migrate"):
            await store.count(after)
        await store.migrate()
        assert await store.count(after, Eq(field="tags", value="tag1")) == 3
        await store.put(after, "t1", Doc(id="t1", tags=["tag0"]))
        assert await store.count(after, Eq(field="tags", value="tag1")) == 2
    indexes = {name for (name,) in rows(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert any(name.startswith("ix_doc_things__name_") for name in indexes)
    assert not any(name.startswith("ix_doc_things__n_") for name in indexes)
    columns = {name for (name,) in rows(db, "SELECT name FROM pragma_table_info('doc_things')")}
    assert not any(name.startswith("f_n_") for name in columns)


async def test_a_field_added_to_a_declaration_is_filled_from_the_json(db: Path) -> None:
    before = Index("things", Doc, fields=("n",), multi=("tags",))
    after = Index("things", Doc, fields=("n", "name", "profile.id"), multi=("tags", "data.nums"))
    docs = [Doc(id=f"t{i}", n=i, name=f"name{i}", tags=[f"tag{i % 2}"], data={"nums": [i, 10]}) for i in range(6)]
    async with store_at(db, (before,)) as store:
        await store.bulk([Put(before, doc.id, doc) for doc in docs])
    async with store_at(db, (after,)) as store:
        assert await store.count(after, Range(field="name", gte="name3")) == 3
        assert await store.count(after, Eq(field="data.nums", value=10)) == 6
        assert await store.count(after, Eq(field="tags", value="tag1")) == 3
        page = await store.query(after, sort=[Sort(field="name", desc=True)], limit=2)
        assert [item.doc.id for item in page.items] == ["t5", "t4"]
        plan = rows(db, "EXPLAIN QUERY PLAN SELECT id FROM doc_things AS d ORDER BY " + page_order(after))
        assert any("ix_doc_things__name_" in str(step[3]) for step in plan), plan
        await store.put(after, "t0", Doc(id="t0", name="zzz", data={"nums": [7]}))
        assert await store.count(after, Eq(field="data.nums", value=10)) == 5
        assert await store.count(after, Eq(field="name", value="zzz")) == 1
    async with store_at(db, (before,)) as store:  # back again: the dropped field is filled anew when re-added
        await store.put(before, "t1", Doc(id="t1", name="changed meanwhile"))
    async with store_at(db, (after,)) as store:
        assert await store.count(after, Eq(field="name", value="changed meanwhile")) == 1
        assert await store.count(after, Eq(field="data.nums", value=10)) == 4


def page_order(index: Index[Any]) -> str:
    column = IndexTable(index, None).columns["name"]
    return f"{column} DESC, d.id DESC"


def _layout_1(path: Path, docs: tuple[Doc, ...]) -> None:
    """A file as layout 1 left it: expression indexes over the JSON, triggers reading the JSON."""
    table = IndexTable(DECLARED, None)
    scalars = "e.type NOT IN ('null', 'object', 'array') AND typeof(e.key) != 'text'"
    each = f"json_each(NEW.doc, '$.tags') AS e WHERE {scalars}"
    add = f"INSERT OR IGNORE INTO multi_values SELECT 'contract-declared', 'tags', e.value, NEW.id FROM {each};"
    forget = "DELETE FROM multi_values WHERE idx = 'contract-declared' AND doc_id = OLD.id;"
    t = '"doc_contract_declared"'
    statements = [
        "CREATE TABLE schema_version (name TEXT PRIMARY KEY, version INTEGER NOT NULL, spec TEXT NOT NULL, "
        "applied_at TEXT NOT NULL)",
        "CREATE TABLE multi_values (idx TEXT NOT NULL, field TEXT NOT NULL, value NOT NULL, doc_id TEXT NOT NULL, "
        "PRIMARY KEY (idx, field, value, doc_id)) WITHOUT ROWID",
        "CREATE INDEX multi_values_by_doc ON multi_values (idx, doc_id)",
        f"CREATE TABLE {t} (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)",
        *(
            f'CREATE INDEX "{table.index_name(f)}" ON {t} (json_extract(doc, {json_path(f)}), id)'
            for f in sorted(table.fields)
        ),
        f'CREATE TRIGGER "doc_contract_declared__multi_ins" AFTER INSERT ON {t} BEGIN {add} END',
        f'CREATE TRIGGER "doc_contract_declared__multi_upd" AFTER UPDATE OF doc ON {t} BEGIN {forget} {add} END',
        f'CREATE TRIGGER "doc_contract_declared__multi_del" AFTER DELETE ON {t} BEGIN {forget} END',
    ]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES ('core', 1, '', 'then')")
        conn.execute("INSERT INTO schema_version VALUES ('index:contract-declared', 1, ?, 'then')", (table.spec,))
        conn.executemany(
            f"INSERT INTO {t} VALUES (?, 1, ?)", [(doc.id, msgspec.json.encode(doc).decode()) for doc in docs]
        )
        conn.commit()


async def test_a_layout_1_file_is_migrated_to_columns(db: Path) -> None:
    _layout_1(db, DATASET)
    multi = "SELECT field, value, doc_id FROM multi_values ORDER BY 1, 2, 3"
    before = rows(db, multi)
    async with store_at(db, (DECLARED,), migrate=False) as store:
        with pytest.raises(StorageError, match="migrate"):
            await store.count(DECLARED)
        await store.migrate()
        schema = rows(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
        await store.migrate()
        assert rows(db, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema
        assert not [name for _, name, sql in schema if "json_extract" in (sql or "")]
        assert rows(db, multi) == before
        for _, where, expected in CONDITIONS:
            page = await store.query(DECLARED, where, limit=10)
            assert {item.doc.id for item in page.items} == expected, where
        page = await store.query(DECLARED, sort=[Sort(field="time", desc=True)], limit=10)
        assert [item.doc.id for item in page.items] == ["d5", "d3", "d2", "d1", "d4"]
        await store.put(DECLARED, "d1", Doc(id="d1", name="zed", tags=["pink"]))
        assert await store.count(DECLARED, Eq(field="tags", value="pink")) == 1
        assert await store.count(DECLARED, Eq(field="tags", value="red")) == 1
        assert await store.count(DECLARED, Eq(field="name", value="zed")) == 1
    assert rows(db, "SELECT version FROM schema_version WHERE name = 'index:contract-declared'") == [(2,)]


async def test_layout_json_text_field_columns_and_multi_rows(db: Path) -> None:
    async with store_at(db) as store:
        await store.put(DECLARED, "a", Doc(id="a", tags=["x", "y", "x"]))
        await store.put(DECLARED, "b", Doc(id="b", tags=["y"]))
        await store.put(DECLARED, "a", Doc(id="a", tags=["z"], profile=Ref(id="p")))
        await store.delete(DECLARED, "b")
    assert rows(db, 'SELECT typeof(doc), version FROM "doc_contract_declared"') == [("text", 2)]
    table = IndexTable(DECLARED, None)
    index_sql = [sql for (sql,) in rows(db, "SELECT sql FROM sqlite_master WHERE tbl_name = 'doc_contract_declared'")]
    assert not any("json_extract" in (sql or "") for sql in index_sql)
    column = dict(table.field_columns)["profile.id"]
    assert any(f'("{column}", id)' in (sql or "") for sql in index_sql)
    assert rows(db, f'SELECT "{column}" FROM "doc_contract_declared"') == [("p",)]
    assert rows(db, "SELECT idx, field, value, doc_id FROM multi_values") == [("contract-declared", "tags", "z", "a")]


class Inner(msgspec.Struct, rename="camel"):
    some_value: int = 0


class Tagged(msgspec.Struct, tag="tagged", tag_field="kind"):
    x: int = 0


class Sparse(msgspec.Struct, omit_defaults=True):
    n: int = 0
    s: str = "default"


class Color(enum.IntEnum):
    RED = 1


class Odd(msgspec.Struct, kw_only=True):
    id: str
    inner: Inner = msgspec.field(default_factory=Inner)
    tagged: Tagged = msgspec.field(default_factory=Tagged)
    sparse: Sparse = msgspec.field(default_factory=Sparse)
    data: dict[Any, Any] = {}
    value: Any = None
    when: datetime | None = None
    ids: Any = None
    opt: Inner | None = None  # a Struct-or-None step: read with an attribute chain, None on the way is NULL


_ODD_FIELDS = (
    "inner.someValue",
    "inner.some_value",
    "tagged.kind",
    "tagged.x",
    "sparse.n",
    "sparse.s",
    "data.k",
    "data.1",
    "data.k.deeper",
    "value",
    "value.k",
    "when",
    "opt.someValue",
    "opt.some_value",
)
ODD = Index("odd", Odd, fields=_ODD_FIELDS, multi=("ids", "data.k"))

ODD_DOCS = [
    Odd(id="o1", inner=Inner(some_value=7), tagged=Tagged(x=2), sparse=Sparse(n=3), data={"k": "v", 1: "one"}),
    Odd(id="o2", sparse=Sparse(s="set"), data={"k": {"deeper": True}}, value=[1, "a", None], ids="lone"),
    Odd(id="o9", opt=Inner(some_value=3)),
    Odd(id="o3", value=2**70, when=datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))),
    Odd(id="o4", value=float("nan"), ids=["a", ["nested"], {"o": 1}, None, 2.5, True]),
    Odd(id="o5", value=Color.RED, data={"k": [1, 2]}, ids=[]),
    Odd(id="o6", value=uuid.UUID(int=5), data={"k": None}),
    Odd(id="o7", value={"k": Inner(some_value=1)}, when=datetime(2024, 5, 1, 10, 0, 0, 5)),
    Odd(id="o8", value=msgspec.Raw(b'{"k":"raw"}'), ids=("t", "u")),
]


async def test_field_columns_hold_what_json_extract_reads(db: Path) -> None:
    """Columns filled from Python hold what SQLite reads from the stored JSON; migrate() fills them the same."""
    table = IndexTable(ODD, None)
    scalars = ", ".join(f'"{column}" IS json_extract(doc, {json_path(f)})' for f, column in table.field_columns)
    lists = ", ".join(
        f"json(\"{column}\") IS NULLIF(doc -> {json_path(f)}, 'null')" for f, column in table.multi_columns
    )
    multi = "SELECT field, value, doc_id FROM multi_values ORDER BY 1, 2, 3"
    async with store_at(db, (ODD,)) as store:
        assert all(r.ok for r in await store.bulk([Put(ODD, doc.id, doc) for doc in ODD_DOCS]))
        assert await store.count(ODD, Eq(field="value.k", value='{"someValue":1}')) == 1
        assert await store.count(ODD, Eq(field="inner.someValue", value=7)) == 1
        assert await store.count(ODD, Eq(field="opt.someValue", value=3)) == 1
        assert await store.count(ODD, Eq(field="tagged.kind", value="tagged")) == 9
        assert await store.count(ODD, Exists(field="sparse.n")) == 1
    checks = rows(db, f"SELECT id, {scalars}, {lists} FROM doc_odd ORDER BY id")
    assert [(doc_id, *([1] * len(row))) for doc_id, *row in checks] == checks
    by_python = rows(db, multi)
    assert ("ids", "lone", "o2") in by_python
    assert ("ids", 2.5, "o4") in by_python
    assert ("data.k", 2, "o5") in by_python
    # As migrate() fills them from the JSON: the same values, and the same multi-value rows.
    with contextlib.closing(sqlite3.connect(db)) as conn:
        names = ", ".join(f'"{column}" = NULL' for _, column in (*table.field_columns, *table.multi_columns))
        conn.execute(f"UPDATE doc_odd SET {names}")
        conn.execute("""UPDATE schema_version SET spec = '{"fields":[],"multi":[]}' WHERE name = 'index:odd'""")
        conn.commit()
    async with store_at(db, (ODD,)):
        pass
    assert rows(db, f"SELECT id, {scalars}, {lists} FROM doc_odd ORDER BY id") == checks
    assert rows(db, multi) == by_python


async def test_declared_fields_are_queried_through_their_indexes(db: Path) -> None:
    async with store_at(db):
        pass
    table = IndexTable(DECLARED, None)
    for where, expected in [
        (Eq(field="profile.id", value="p1"), "ix_doc_contract_declared__profile_id"),
        (Range(field="n", gt=3), "ix_doc_contract_declared__n_"),
        (Eq(field="tags", value="x"), "multi_values"),
    ]:
        sql, params = compile_where(table, where)
        plan = rows(db, f'EXPLAIN QUERY PLAN SELECT d.id FROM "doc_contract_declared" AS d WHERE {sql}', tuple(params))
        assert any(expected in str(step[3]) for step in plan), plan


async def test_updates_keep_every_field_column_exact(db: Path) -> None:
    """Updates leave a field column the new document does not change out of the upsert (SQLite would rewrite its
    index entry); every column still holds what json_extract reads, through changed, unchanged and retyped
    values, in one run and across runs, and queries through the indexes find the new values."""
    table = IndexTable(DECLARED, None)
    scalars = " AND ".join(
        f'"{c}" IS json_extract(doc, {json_path(f)}) AND typeof("{c}") = typeof(json_extract(doc, {json_path(f)}))'
        for f, c in table.field_columns
    )
    base = [Doc(id=f"u{i}", name=f"n{i}", n=i, score=float(i), profile=Ref(id=f"p{i}")) for i in range(6)]
    async with store_at(db, (DECLARED,)) as store:
        assert all(r.ok for r in await store.bulk([Put(DECLARED, d.id, d) for d in base]))
        same = msgspec.structs.replace
        updates = [
            same(base[0], name="n0"),  # nothing changes but the version
            same(base[1], name="renamed"),  # one field changes, the others stay
            same(base[2], score=None, profile=None),  # values become NULL
            same(base[3], score=3),  # 3.0 -> 3: the same number, another type
            same(base[4], n=40, name="x", score=4.5, profile=Ref(id="q")),  # every field changes
        ]
        assert all(r.ok for r in await store.bulk([Put(DECLARED, d.id, d) for d in updates]))
        # and again in one run: the second write of u1 sees the first as the stored row
        again = [same(updates[1], name="again"), same(base[5], n=5)]
        assert all(r.ok for r in await store.bulk([Put(DECLARED, d.id, d) for d in again]))
        assert [v.doc.id for v in (await store.query(DECLARED, Eq(field="name", value="again"))).items] == ["u1"]
        assert await store.count(DECLARED, Eq(field="name", value="renamed")) == 0
        assert await store.count(DECLARED, Eq(field="profile.id", value="q")) == 1
        assert await store.count(DECLARED, Eq(field="profile.id", value="p2")) == 0
        assert await store.count(DECLARED, Exists(field="score")) == 5
        assert await store.count(DECLARED, Eq(field="n", value=40)) == 1
    assert rows(db, f"SELECT id FROM {table.table} WHERE NOT ({scalars}) ORDER BY id") == []
