"""Hostile and odd files: huge lines, wrong encodings, BOMs, CRLF, quoted line breaks, deep JSON, NUL bytes.

Each bad row is reported with its line and the rest of the file is imported.
"""

from __future__ import annotations

from pathlib import Path

from tests.imports.conftest import burst
from tracardi.domain.imports import CsvSource, FieldMap, ImportRecord, ImportSpec, JsonLinesSource
from tracardi.services import Services
from tracardi.storage import PROFILES

MAP = [FieldMap(source="id", target="id"), FieldMap(source="name", target="data.pii.firstname")]


async def _run(services: Services, source: CsvSource | JsonLinesSource, **kw: object) -> tuple[ImportRecord, dict]:
    record = await services.imports.start(ImportSpec(source=source, target="profiles", mapping=MAP, **kw))  # type: ignore[arg-type]
    await burst(services)
    done = await services.imports.record(record.id)
    errors = (await services.imports.errors(record.id, limit=100, after=None)).items
    return done, {e.doc.line: e.doc.error for e in errors}


async def _name(services: Services, profile_id: str) -> str | None:
    stored = await services.store.get(PROFILES, profile_id)
    assert stored is not None, profile_id
    return stored.doc.data.pii.firstname


async def test_a_huge_line_is_one_bad_row(services: Services, folder: Path) -> None:
    huge = b"a2," + b"x" * (3 * 1024 * 1024) + b"\n"
    (folder / "huge.csv").write_bytes(b"id,name\na1,Ann\n" + huge + b"a3,Cy\n")
    done, errors = await _run(services, CsvSource(path="huge.csv"))
    assert (done.read, done.imported, done.failed) == (3, 2, 1)
    assert errors == {3: "line longer than 1048576 bytes"}
    assert await _name(services, "a3") == "Cy"
    (folder / "huge.jsonl").write_bytes(b'{"id": "j1"}\n{"id": "' + b"y" * (2 * 1024 * 1024) + b'"}\n{"id": "j3"}\n')
    done, errors = await _run(services, JsonLinesSource(path="huge.jsonl"))
    assert (done.imported, list(errors)) == (2, [2])


async def test_wrong_encodings(services: Services, folder: Path) -> None:
    latin = "id,name\nl1,Zoë\nl2,Bob\nl3,José\n".encode("latin-1")
    (folder / "latin.csv").write_bytes(latin)
    done, errors = await _run(services, CsvSource(path="latin.csv"))
    assert (done.imported, sorted(errors)) == (1, [2, 4])
    assert all("not valid utf-8" in e for e in errors.values())
    done, errors = await _run(services, CsvSource(path="latin.csv", encoding="latin-1"))
    assert (done.imported, errors) == (3, {})
    assert await _name(services, "l3") == "José"


async def test_bom_crlf_quoted_line_breaks_and_nul(services: Services, folder: Path) -> None:
    text = '\ufeffid,name\r\nq1,"two\r\nlines"\r\nq2,"say ""hi"""\r\n\r\nq3,a\x00b\r\nq4,"never closed\r\n'
    (folder / "odd.csv").write_bytes(text.encode("utf-8"))
    done, errors = await _run(services, CsvSource(path="odd.csv"))
    assert await _name(services, "q1") == "two\r\nlines"
    assert await _name(services, "q2") == 'say "hi"'
    assert await _name(services, "q3") == "a\x00b"
    assert (done.imported, done.failed) == (3, 1)
    assert list(errors) == [7] and "malformed CSV" in errors[7]


async def test_deep_and_odd_json(services: Services, folder: Path) -> None:
    lines = [b"[" * 100_000, b'{"id": 7, "name": "n"}', b"null", b'{"id": "", "name": "x"}', b'{"id": "ok"}']
    (folder / "odd.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    done, errors = await _run(services, JsonLinesSource(path="odd.jsonl"))
    assert (done.read, done.imported) == (5, 3)  # an empty id is no id: the row gets one from the import and line
    assert sorted(errors) == [1, 3] and "nested too deeply" in errors[1]
    assert await _name(services, "7") == "n"  # a numeric id becomes a string id
    assert await services.store.get(PROFILES, "ok") is not None


async def test_typed_fields_refuse_wrong_types_per_row(services: Services, folder: Path) -> None:
    rows = [b'{"id": "t1", "stats": {"visits": "many"}}', b'{"id": "t2", "stats": {"visits": "3"}}']
    (folder / "typed.jsonl").write_bytes(b"\n".join(rows))
    done, errors = await _run(services, JsonLinesSource(path="typed.jsonl"), preset="tracardi-profile")
    assert done.imported == 1 and "stats.visits" in errors[1]
    stored = await services.store.get(PROFILES, "t2")
    assert stored is not None and stored.doc.stats.visits == 3


async def test_a_cell_of_deep_json_is_one_bad_row(services: Services, folder: Path) -> None:
    (folder / "cells.csv").write_text("id,j\nd1," + "[" * 5000 + "\nd2,[1]\n")
    mapping = [FieldMap(source="id", target="id"), FieldMap(source="j", target="traits.j", type="json")]
    record = await services.imports.start(
        ImportSpec(source=CsvSource(path="cells.csv"), target="profiles", mapping=mapping)
    )
    await burst(services)
    done = await services.imports.record(record.id)
    assert (done.imported, done.failed) == (1, 1)
    (error,) = (await services.imports.errors(record.id, limit=5, after=None)).items
    assert error.doc.line == 2 and error.doc.error.startswith("j: cannot convert to json")
