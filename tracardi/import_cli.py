"""``python -m tracardi import-data``: run an import in this process, printing its progress.

The operator names any file (no import folder here: the shell can read it anyway). The import is recorded like
one started through the admin API, so ``--id`` resumes an interrupted one from its last checkpoint and the admin
API shows its progress and bad rows. Exit codes: 0 done (bad rows are listed, not fatal), 1 the import failed or
storage failed, 2 bad arguments or settings, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import msgspec

from tracardi import log as logging_setup
from tracardi.domain.errors import Conflict, InvalidInput, NotFoundError
from tracardi.domain.imports import (
    PRESETS,
    Conversion,
    CsvSource,
    FieldMap,
    ImportRecord,
    ImportSpec,
    IndexSource,
    JsonLinesSource,
    Source,
)
from tracardi.domain.messages import ImportData
from tracardi.engine import ImportFailed, ImportService
from tracardi.services import open_services
from tracardi.settings import Settings, SettingsError, load_settings
from tracardi.storage import StorageError
from tracardi.storage.readers import reader_factory

_CONVERSIONS = get_args(Conversion)
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_SHOWN_ERRORS = 20


class UsageError(Exception):
    """A bad argument; the message says which and why."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tracardi import-data",
        description="import profiles or events from a CSV or JSON-lines file, or an OpenSearch/Elasticsearch index",
    )
    src = p.add_argument_group("source (a file, or an index)")
    src.add_argument("--file", help="CSV (with a header line) or JSON-lines file")
    src.add_argument("--format", choices=["csv", "jsonl"], help="default: jsonl for .jsonl/.ndjson/.json, else csv")
    src.add_argument("--delimiter", default=",", help="CSV field delimiter (default ,)")
    src.add_argument("--encoding", default="utf-8", help="file encoding (default utf-8; e.g. latin-1, cp1252)")
    src.add_argument("--index-url", help="http(s) URL of the cluster to read from")
    src.add_argument("--index", help="index, alias or pattern to read (e.g. tracardi-profile-*)")
    src.add_argument("--username", default="", help="basic auth user of the source cluster")
    src.add_argument("--password", default="", help="basic auth password of the source cluster")
    src.add_argument("--api-key", default="", help="API key of the source cluster")
    p.add_argument("--target", choices=["profiles", "events"], help="what the rows become")
    p.add_argument("--map", action="append", default=[], metavar="SOURCE=PATH[:TYPE]", help="a mapping entry; repeat")
    p.add_argument("--mapping", metavar="FILE", help='JSON file: [{"source", "target", "type"}] or {"source": "path"}')
    p.add_argument("--preset", choices=sorted(PRESETS), help="a named mapping (an old Tracardi's indices)")
    p.add_argument("--batch-size", type=int, default=500, help="rows per batch and checkpoint (default 500)")
    p.add_argument("--source-id", default="import", help="events: the event source recorded (default import)")
    p.add_argument("--track", action="store_true", help="events: run each row through the tracker")
    p.add_argument("--rows-per-second", type=float, default=0, help="throttle (default: none)")
    p.add_argument("--id", default="", help="import id: resumes that import when it exists, else starts it under it")
    p.add_argument("--config", help="config file (default: config/tracardi.toml when present)")
    return p


def parse_map(text: str) -> FieldMap:
    """``source=target`` or ``source=target:type``."""
    source, eq, target = text.rpartition("=")
    if not eq or not source or not target:
        raise UsageError(f"--map {text!r}: expected SOURCE=PATH or SOURCE=PATH:TYPE")
    path, colon, kind = target.rpartition(":")
    if colon:
        if kind not in _CONVERSIONS:
            raise UsageError(f"--map {text!r}: unknown type {kind!r} (types: {', '.join(_CONVERSIONS)})")
        target = path
    return msgspec.convert({"source": source, "target": target, "type": kind if colon else "auto"}, FieldMap)


def _mapping_file(path: str) -> list[FieldMap]:
    try:
        data: Any = msgspec.json.decode(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"--mapping {path}: {exc.strerror}") from exc
    except msgspec.DecodeError as exc:
        raise UsageError(f"--mapping {path}: not JSON: {exc}") from exc
    if isinstance(data, dict):
        return [parse_map(f"{source}={target}") for source, target in data.items()]
    try:
        return msgspec.convert(data, list[FieldMap])
    except msgspec.ValidationError as exc:
        raise UsageError(f"--mapping {path}: {exc}") from exc


def _source(args: argparse.Namespace) -> Source:
    if bool(args.file) == bool(args.index_url):
        raise UsageError("give a source: --file FILE, or --index-url URL with --index NAME")
    if args.index_url:
        if not args.index:
            raise UsageError("--index-url needs --index NAME")
        return IndexSource(
            url=args.index_url, index=args.index, username=args.username, password=args.password, api_key=args.api_key
        )
    path = Path(args.file).expanduser().resolve()
    fmt = args.format or ("jsonl" if path.suffix.lower() in _JSON_SUFFIXES else "csv")
    if fmt == "jsonl":
        return JsonLinesSource(path=str(path), encoding=args.encoding)
    return CsvSource(path=str(path), delimiter=args.delimiter, encoding=args.encoding)


def build_spec(args: argparse.Namespace) -> ImportSpec:
    """The import the arguments describe; raises UsageError naming the argument."""
    if not args.target:
        raise UsageError("--target profiles|events is required")
    mapping = [parse_map(text) for text in args.map]
    if args.mapping:
        mapping = [*_mapping_file(args.mapping), *mapping]
    return ImportSpec(
        source=_source(args),
        target=args.target,
        mapping=mapping,
        preset=args.preset or "",
        batch_size=args.batch_size,
        source_id=args.source_id,
        track=args.track,
        rows_per_second=args.rows_per_second,
    )


def _err(line: str) -> None:
    print(line, file=sys.stderr)  # noqa: T201 - the command's progress and errors


def _out(line: str) -> None:
    print(line)  # noqa: T201 - the command's report


def _percent(record: ImportRecord) -> str:
    return f" ({100 * record.checkpoint.offset / record.size:.0f}%)" if record.size else ""


class _Progress:
    """Prints a progress line at most once a second, and at the end."""

    def __init__(self) -> None:
        self._last = 0.0
        self._read = -1

    async def __call__(self, record: ImportRecord) -> None:
        now = time.monotonic()
        if record.read != self._read and (record.status == "done" or now - self._last >= 1.0):
            self._last, self._read = now, record.read
            _err(
                f"{record.id}: read {record.read:,}, imported {record.imported:,}, failed {record.failed:,}"
                f"{_percent(record)}"
            )


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _resume_or_start(imports: ImportService, args: argparse.Namespace) -> tuple[ImportRecord, ImportSpec]:
    if args.id:
        try:
            record: ImportRecord | None = await imports.record(args.id)
        except NotFoundError:
            record = None
        if record is not None:
            spec = record.spec
            if isinstance(spec.source, IndexSource):  # the record keeps no credentials: take them again
                creds = {"password": args.password, "api_key": args.api_key}
                spec = msgspec.structs.replace(spec, source=msgspec.structs.replace(spec.source, **creds))
            _err(f"{record.id}: resuming ({record.status}) after line {record.checkpoint.line:,}")
            return record, spec
    spec = build_spec(args)
    record = await imports.start(spec, args.id, enqueue=False)
    _err(f"{record.id}: started (resume with --id {record.id})")
    return record, spec


async def _report(imports: ImportService, record: ImportRecord) -> None:
    _out(
        f"import {record.id}: {record.status}; read {record.read:,} rows, imported {record.imported:,}, "
        f"failed {record.failed:,}"
    )
    if record.failed:
        page = await imports.errors(record.id, limit=_SHOWN_ERRORS, after=None)
        for item in page.items:
            _out(f"  line {item.doc.line}: {item.doc.error}")
        if record.failed > len(page.items):
            _out(f"  ... {record.failed - len(page.items):,} more: GET /api/imports/{record.id}/errors")


async def _import(settings: Settings, args: argparse.Namespace) -> ImportRecord:
    async with open_services(settings) as services:
        opener = reader_factory(None, max_line_bytes=settings.imports.max_line_bytes)
        imports = ImportService(
            services.store, services.background, services.tracker, services.sources, opener, _utcnow, settings.imports
        )
        record, spec = await _resume_or_start(imports, args)
        if record.status not in ("done", "failed"):
            message = ImportData(import_id=record.id, slice=record.slice, spec=spec)
            await imports.run_slice(message, budget=None, report=_Progress())
        record = await imports.record(record.id)
        await _report(imports, record)
        return record


def import_main(argv: Sequence[str]) -> int:
    """Entry point of ``python -m tracardi import-data ...``."""
    args = _parser().parse_args(argv[1:])
    logging_setup.configure("console", "warning")
    try:
        settings = load_settings(args.config)
        record = asyncio.run(_import(settings, args))
    except (UsageError, SettingsError) as exc:
        _err(f"tracardi import-data: {exc}")
        return 2
    except InvalidInput as exc:
        _err(f"tracardi import-data: {exc.detail}")
        for error in exc.errors[1:]:
            _err(f"  {'.'.join(map(str, error.loc[1:]))}: {error.msg}")
        return 2
    except Conflict as exc:
        _err(f"tracardi import-data: {exc}")
        return 2
    except (ImportFailed, StorageError) as exc:
        _err(f"tracardi import-data: the import failed: {exc}")
        return 1
    except KeyboardInterrupt:
        _err("tracardi import-data: interrupted; run again with the same --id to resume")
        return 130
    return 0 if record.status == "done" else 1
