"""Imports of profiles and events from files and other indices, in batches, with progress and per-row errors.

An import is a record (``IMPORTS``) plus jobs on ``import:worker``. Each job runs one *slice*: batches from the
record's checkpoint until the slice's time budget is spent, then the worker queues the next slice; so a job never
outlives its queue's visibility timeout, and a worker killed mid-slice leaves a job that is delivered again and
resumes from the last checkpoint. Per batch: read, map, write (bulk, or through the tracker), store the bad rows
(``IMPORT_ERRORS``, by import id and line), then move the checkpoint with a conditional write. Re-doing a batch after
a crash writes the same documents under the same ids and counts nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec

from tracardi.domain.errors import Conflict, DomainError, EventRejected, FieldError, InvalidInput, NotFoundError
from tracardi.domain.errors import SourceRejected as SourceRejectedError
from tracardi.domain.event import Event
from tracardi.domain.import_rows import (
    RowProblem,
    build_event,
    build_profile,
    compile_mapping,
    map_row,
    tracker_payload,
)
from tracardi.domain.imports import (
    ImportRecord,
    ImportSpec,
    IndexSource,
    RowError,
    check_spec,
    import_doc_id,
    row_error_id,
)
from tracardi.domain.messages import IMPORT, ImportData
from tracardi.domain.query import Eq, Sort
from tracardi.engine.background import Background
from tracardi.engine.sources import SourceService
from tracardi.engine.tracking import Tracker
from tracardi.log import get_logger
from tracardi.storage import (
    EVENTS,
    IMPORT_ERRORS,
    IMPORTS,
    PROFILES,
    DocumentStore,
    OpenReader,
    Page,
    Put,
    Row,
    RowBatch,
    StorageError,
    UnreadableSource,
    VersionConflict,
    WriteOp,
    WriteResult,
)

log = get_logger("imports")
_Built = tuple[list[tuple[Row, Any]], list[RowError]]
"""The documents of a batch's good rows (with their rows), and its bad rows."""
Report = Callable[[ImportRecord], Awaitable[None]]


class ImportsOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of imports (section ``[imports]``)."""

    folder: str = ""
    """Folder the admin API may import files from (paths are relative to it; nothing outside it is read);
    empty: ``<storage.path>/imports``. The command line reads any file the operator names."""
    max_line_bytes: Annotated[int, msgspec.Meta(ge=64)] = 1_048_576
    """A longer line of a file is one bad row (and is never held in memory whole)."""
    max_errors: Annotated[int, msgspec.Meta(ge=0)] = 10_000
    """Bad rows kept with their line and reason per import; more are only counted."""
    track_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 8
    """Rows of one batch tracked at once when an import runs through the tracker."""


class ImportFailed(DomainError):
    """The import cannot go on (its source is gone or refuses); the record says why."""


@dataclass(frozen=True, slots=True)
class SliceOutcome:
    """What a worker does after a slice: nothing more (the import is over, or the job was stale), or queue the
    slice ``next``."""

    next: int | None = None


class ImportService:
    """Starts imports, runs their slices, and answers their progress and errors."""

    def __init__(
        self,
        store: DocumentStore,
        background: Background,
        tracker: Tracker,
        sources: SourceService,
        open_reader: OpenReader,
        clock: Callable[[], datetime],
        options: ImportsOptions | None = None,
    ) -> None:
        self._store = store
        self._background = background
        self._tracker = tracker
        self._sources = sources
        self._open = open_reader
        self._clock = clock
        self._options = options or ImportsOptions()

    # -- starting and reading ------------------------------------------------------------------------------------

    async def start(self, spec: ImportSpec, import_id: str = "", *, enqueue: bool = True) -> ImportRecord:
        """Check the spec and the source, record the import, and (``enqueue``) queue its first slice.

        Raises InvalidInput naming the field, or Conflict when ``import_id`` is taken.
        """
        problems = check_spec(spec)
        if problems:
            raise InvalidInput(f"Invalid import: {problems[0].msg} ({'.'.join(map(str, problems[0].loc))})", problems)
        if spec.track:
            try:
                await self._sources.authorize(spec.source_id.strip().lower(), "rest")
            except SourceRejectedError as exc:
                raise InvalidInput(str(exc), [FieldError(["body", "source_id"], str(exc))]) from exc
        size = await self._size(spec)
        now = self._clock()
        import_id = import_id or uuid.uuid4().hex
        record = ImportRecord(id=import_id, spec=spec.redacted(), created=now, updated=now, size=size)
        try:
            await self._store.put(IMPORTS, import_id, record, create=True)
        except VersionConflict as exc:
            raise Conflict(f"An import `{import_id[:200]}` exists already.") from exc
        if enqueue:
            await self.queue_slice(import_id, 0, spec)
        log.info("import_started", import_id=import_id, target=spec.target, source=type(spec.source).__name__)
        return record

    async def _size(self, spec: ImportSpec) -> int:
        reader = self._open(spec.source)
        try:
            return await reader.size()
        except StorageError as exc:  # unreadable, or unreachable: either way the import cannot start now
            field = "url" if isinstance(spec.source, IndexSource) else "path"
            detail = f"Cannot read the source: {exc}"
            raise InvalidInput(detail, [FieldError(["body", "source", field], str(exc))]) from exc
        finally:
            await reader.close()

    async def queue_slice(self, import_id: str, number: int, spec: ImportSpec) -> None:
        """Queue slice ``number`` (a live job of that slice makes this a no-op)."""
        message = ImportData(import_id=import_id, slice=number, spec=spec)
        await self._background.send(IMPORT, message, job_id=f"{import_id}:{number}")

    async def record(self, import_id: str) -> ImportRecord:
        found = await self._store.get(IMPORTS, import_id)
        if found is None:
            raise NotFoundError(f"No import `{import_id[:200]}`.")
        return found.doc

    async def list_imports(self, *, limit: int, after: str | None) -> Page[ImportRecord]:
        """Imports, newest first."""
        return await self._store.query(IMPORTS, sort=[Sort(field="created", desc=True)], limit=limit, after=after)

    async def errors(self, import_id: str, *, limit: int, after: str | None) -> Page[RowError]:
        """An import's bad rows in line order."""
        await self.record(import_id)
        where = Eq(field="import_id", value=import_id)
        return await self._store.query(IMPORT_ERRORS, where, sort=[Sort(field="line")], limit=limit, after=after)

    # -- running -------------------------------------------------------------------------------------------------

    async def run_slice(
        self, message: ImportData, *, budget: float | None, report: Report | None = None
    ) -> SliceOutcome:
        """Run slice ``message.slice`` for up to ``budget`` seconds (None: to the end).

        Raises ImportFailed when the source cannot be read (the record is marked failed), VersionConflict when
        another worker moved the checkpoint meanwhile, and storage errors (the job is retried from the checkpoint).
        """
        found = await self._store.get(IMPORTS, message.import_id)
        if found is None:
            raise ImportFailed(f"no import record `{message.import_id[:200]}`")
        record, version = found.doc, found.version
        if record.status == "done" or record.slice < message.slice:
            return SliceOutcome()  # over, or a job of a future slice (cannot happen unless replayed by hand)
        if record.slice > message.slice:
            return SliceOutcome(record.slice)  # this slice ended but its successor may not be queued
        if record.status != "running":  # queued, or failed and its dead-lettered job replayed: (re)start
            record.status, record.error = "running", ""
            record.started = record.started or self._clock()
            version = await self._store.put(IMPORTS, record.id, record, if_version=version)
        try:
            return await self._batches(message.spec, record, version, budget, report)
        except UnreadableSource as exc:
            record.status, record.error, record.ended = "failed", str(exc)[:1000], self._clock()
            await self._store.put(IMPORTS, record.id, record)
            raise ImportFailed(str(exc)) from exc

    async def _batches(
        self, spec: ImportSpec, record: ImportRecord, version: int, budget: float | None, report: Report | None
    ) -> SliceOutcome:
        """Batches until the source ends or the budget is spent; each batch is read and built while the one
        before it is being written (the write of batch N+1 starts once batch N's checkpoint is stored)."""
        pace = _Pace(spec.rows_per_second, budget, record.read)
        reader = self._open(spec.source)
        pending: asyncio.Task[int] | None = None
        try:
            async for batch in reader.batches(record.checkpoint, spec.batch_size):
                built = self._build(spec, record.id, batch.rows)
                if pending is not None:
                    version, pending = await pending, None
                    if await pace.after_batch(record, report):
                        return await self._next_slice(record, version)
                pending = asyncio.create_task(self._commit(spec, record, version, batch, built))
            if pending is not None:
                version, pending = await pending, None
                await pace.after_batch(record, report)
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
            await reader.close()
        record.status, record.ended, record.updated = "done", self._clock(), self._clock()
        await self._store.put(IMPORTS, record.id, record, if_version=version)
        if report is not None:
            await report(record)
        log.info("import_done", import_id=record.id, imported=record.imported, failed=record.failed)
        return SliceOutcome()

    async def _next_slice(self, record: ImportRecord, version: int) -> SliceOutcome:
        record.slice += 1
        await self._store.put(IMPORTS, record.id, record, if_version=version)
        return SliceOutcome(record.slice)

    async def _commit(
        self, spec: ImportSpec, record: ImportRecord, version: int, batch: RowBatch, built: _Built
    ) -> int:
        """Write one built batch and move the checkpoint past it; the record's new version.

        Rows written directly go in one bulk write with their bad rows and the checkpoint (one commit on the
        embedded store); a row the store refuses is then reported and the counts corrected.
        """
        docs, errors = built
        ops: list[WriteOp] = []
        if spec.track:
            imported = await self._track(record.id, docs, errors)
        else:
            index: Any = PROFILES if spec.target == "profiles" else EVENTS
            ops = [Put(index, doc.id, doc) for _, doc in docs]
            imported = len(docs)
        record.read += len(batch.rows)
        record.checkpoint = batch.checkpoint
        results = await self._store.bulk([*ops, *self._account(record, imported, errors, version)])
        version = _version(results[-1])
        refused = [
            _row_error(record.id, row, f"not stored: {result.error}")
            for (row, _), result in zip(docs, results, strict=False)
            if result.error is not None and not spec.track
        ]
        if refused:
            results = await self._store.bulk(self._account(record, -len(refused), refused, version))
            version = _version(results[-1])
        return version

    def _account(self, record: ImportRecord, imported: int, errors: list[RowError], version: int) -> list[WriteOp]:
        """Count the rows on the record; the writes of the bad rows still kept and of the record (last)."""
        errors.sort(key=lambda e: e.line)
        kept = errors[: max(0, self._options.max_errors - record.failed)]
        record.imported += imported
        record.failed += len(errors)
        record.updated = self._clock()
        return [*(Put(IMPORT_ERRORS, e.id, e) for e in kept), Put(IMPORTS, record.id, record, if_version=version)]

    def _build(self, spec: ImportSpec, import_id: str, rows: list[Row]) -> _Built:
        """The documents of the good rows, and the bad rows."""
        errors: list[RowError] = []
        docs: list[tuple[Row, Any]] = []
        mapping = compile_mapping(spec.mappings())
        now = self._clock()
        for row in rows:
            if row.data is None:
                errors.append(_row_error(import_id, row, row.error))
                continue
            try:
                fields = map_row(row.data, mapping)
                default_id = "" if "id" in fields else import_doc_id(import_id, row.line)
                if spec.target == "profiles":
                    docs.append((row, build_profile(fields, default_id=default_id, now=now)))
                else:
                    docs.append((row, build_event(fields, default_id=default_id, source_id=spec.source_id, now=now)))
            except RowProblem as exc:
                errors.append(_row_error(import_id, row, str(exc)))
        return docs, errors

    async def _track(self, import_id: str, docs: list[tuple[Row, Event]], errors: list[RowError]) -> int:
        """Track each event not stored yet (a batch re-done after a crash skips what the tracker already stored)."""
        stored = {v.doc.id for v in await self._store.get_many(EVENTS, [event.id for _, event in docs])}
        pending = [(row, event) for row, event in docs if event.id not in stored]
        gate = asyncio.Semaphore(self._options.track_concurrency)

        async def one(row: Row, event: Event) -> bool:
            async with gate:
                try:
                    await self._tracker.track(tracker_payload(event))
                except (InvalidInput, SourceRejectedError, EventRejected, VersionConflict) as exc:
                    errors.append(_row_error(import_id, row, f"not tracked: {exc}"))
                    return False
                return True

        results = await asyncio.gather(*(one(row, event) for row, event in pending))
        return len(stored) + sum(results)


class _Pace:
    """After each batch: report, hold the pace of ``rows_per_second``, and tell when the slice's budget is spent."""

    def __init__(self, rows_per_second: float, budget: float | None, read: int) -> None:
        self._rate = rows_per_second
        self._budget = budget
        self._read = read
        self._started = time.monotonic()

    async def after_batch(self, record: ImportRecord, report: Report | None) -> bool:
        if report is not None:
            await report(record)
        elapsed = time.monotonic() - self._started
        if self._rate > 0:
            await asyncio.sleep(max(0.0, (record.read - self._read) / self._rate - elapsed))
        return self._budget is not None and time.monotonic() - self._started >= self._budget


def _version(result: WriteResult) -> int:
    """The record's new version from its write's result (a conflict: another worker moved the import on)."""
    if result.error is not None:
        raise result.error
    assert result.version is not None
    return result.version


def _row_error(import_id: str, row: Row, error: str) -> RowError:
    excerpt = row.raw or (msgspec.json.encode(row.data).decode()[:200] if row.data is not None else "")
    return RowError(id=row_error_id(import_id, row.line), import_id=import_id, line=row.line, error=error, row=excerpt)
