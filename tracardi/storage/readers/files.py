"""CSV and JSON-lines files as import sources, read line by line off the event loop.

Lines are read as bytes with a length limit, so one huge line costs at most ``max_line_bytes`` of memory and
becomes one bad row; each line is decoded alone, so bytes outside the file's encoding spoil only their line. The
checkpoint is the byte offset after the last row of a batch: a resumed import seeks there (re-reading the CSV
header from the top first). A row's ``line`` is the physical line where it starts (the header is line 1).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any

import msgspec

from tracardi.domain.imports import Checkpoint, CsvSource, JsonLinesSource
from tracardi.storage.rows import Row, RowBatch, UnreadableSource

_EXCERPT = 200
_SKIP_CHUNK = 1 << 16


class BadLine(Exception):
    """A physical line that cannot be used: too long, or not in the file's encoding."""

    def __init__(self, line: int, reason: str, raw: bytes) -> None:
        super().__init__(reason)
        self.line = line
        self.raw = raw[:_EXCERPT].decode("utf-8", "replace")


class _Lines:
    """The decoded physical lines of a binary file from a position; counts the lines and bytes consumed."""

    def __init__(self, fh: IO[bytes], encoding: str, max_bytes: int, line: int, offset: int) -> None:
        self._fh = fh
        self._encoding = encoding
        self._max = max_bytes
        self._bom = codecs.BOM_UTF8 if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else b""
        self.line = line
        self.offset = offset

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._fh.readline(self._max + 1)
        if not raw:
            raise StopIteration
        first = self.offset == 0
        self.line += 1
        self.offset += len(raw)
        if len(raw) > self._max and not raw.endswith(b"\n"):
            self._skip_rest()
            raise BadLine(self.line, f"line longer than {self._max} bytes", raw)
        if first and self._bom and raw.startswith(self._bom):
            raw = raw[len(self._bom) :]
        try:
            return raw.decode(self._encoding)
        except UnicodeDecodeError as exc:
            raise BadLine(self.line, f"not valid {self._encoding} at byte {exc.start} of the line", raw) from None

    def _skip_rest(self) -> None:
        while True:
            chunk = self._fh.readline(_SKIP_CHUNK)
            self.offset += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return


def resolve(path: str, folder: Path | None) -> Path:
    """The file ``path`` names: inside ``folder`` when one is set (no absolute path, no way out by ``..`` or a
    symbolic link); anywhere when it is None (the command line, run by the operator)."""
    if folder is None:
        real = Path(path).expanduser().resolve()
    else:
        if Path(path).is_absolute() or path.startswith("~"):
            raise UnreadableSource(f"`{path[:200]}` is absolute; give a path inside the import folder")
        base = folder.resolve()
        real = (base / path).resolve()
        if not real.is_relative_to(base):
            raise UnreadableSource(f"`{path[:200]}` is outside the import folder")
    if not real.is_file():
        raise UnreadableSource(f"no file `{path[:200]}`" + ("" if folder is None else " in the import folder"))
    return real


class FileRows:
    """Rows of a CSV (with a header line) or JSON-lines file."""

    def __init__(self, source: CsvSource | JsonLinesSource, folder: Path | None, *, max_line_bytes: int) -> None:
        self._source = source
        self._folder = folder
        self._max = max_line_bytes

    async def _path(self) -> Path:
        return await asyncio.to_thread(resolve, self._source.path, self._folder)

    async def size(self) -> int:
        path = await self._path()
        return (await asyncio.to_thread(os.stat, path)).st_size

    async def batches(self, start: Checkpoint, size: int) -> AsyncIterator[RowBatch]:
        path = await self._path()
        try:
            fh = await asyncio.to_thread(open, path, "rb")
        except OSError as exc:
            raise UnreadableSource(f"cannot open `{self._source.path[:200]}`: {exc.strerror}") from exc
        try:
            cursor = await asyncio.to_thread(self._cursor, fh, start)
            while True:
                rows, done = await asyncio.to_thread(cursor.read, size)
                if rows or done:
                    yield RowBatch(rows, Checkpoint(line=cursor.lines.line, offset=cursor.lines.offset))
                if done:
                    return
        finally:
            await asyncio.to_thread(fh.close)

    def _cursor(self, fh: IO[bytes], start: Checkpoint) -> _CsvCursor | _JsonCursor:
        source = self._source
        if isinstance(source, JsonLinesSource):
            fh.seek(start.offset)
            return _JsonCursor(_Lines(fh, source.encoding, self._max, start.line, start.offset))
        head = _Lines(fh, source.encoding, self._max, 0, 0)
        header = _header(head, source.delimiter)
        if start.offset:
            fh.seek(start.offset)
            lines = _Lines(fh, source.encoding, self._max, start.line, start.offset)
        else:
            lines = head
        return _CsvCursor(lines, header, source.delimiter)

    async def close(self) -> None:
        """Each batches() run opens and closes its own file: nothing is held between runs."""


def _header(lines: _Lines, delimiter: str) -> list[str]:
    try:
        for fields in csv.reader(lines, delimiter=delimiter, strict=True):
            if fields:
                return [name.strip() for name in fields]
    except (BadLine, csv.Error) as exc:
        raise UnreadableSource(f"the header line cannot be read: {exc}") from exc
    return []


class _CsvCursor:
    def __init__(self, lines: _Lines, header: list[str], delimiter: str) -> None:
        self.lines = lines
        self._header = header
        self._reader = csv.reader(lines, delimiter=delimiter, strict=True)

    def read(self, size: int) -> tuple[list[Row], bool]:
        rows: list[Row] = []
        while len(rows) < size:
            line = self.lines.line + 1
            try:
                fields = next(self._reader)
            except StopIteration:
                return rows, True
            except BadLine as exc:
                rows.append(Row(exc.line, None, str(exc), exc.raw))
                continue
            except csv.Error as exc:
                rows.append(Row(line, None, f"malformed CSV: {exc}"))
                continue
            if not fields:
                continue  # a blank line
            if len(fields) != len(self._header):
                excerpt = ",".join(fields)[:_EXCERPT]
                rows.append(Row(line, None, f"{len(fields)} fields, the header has {len(self._header)}", excerpt))
                continue
            rows.append(Row(line, dict(zip(self._header, fields, strict=True))))
        return rows, False


_decode_json = msgspec.json.Decoder().decode


class _JsonCursor:
    def __init__(self, lines: _Lines) -> None:
        self.lines = lines

    def read(self, size: int) -> tuple[list[Row], bool]:
        rows: list[Row] = []
        while len(rows) < size:
            try:
                text = next(self.lines)
            except StopIteration:
                return rows, True
            except BadLine as exc:
                rows.append(Row(exc.line, None, str(exc), exc.raw))
                continue
            if not text.strip():
                continue
            rows.append(_json_row(self.lines.line, text))
        return rows, False


def _json_row(line: int, text: str) -> Row:
    try:
        data: Any = _decode_json(text)
    except msgspec.DecodeError as exc:
        return Row(line, None, f"invalid JSON: {exc}", text[:_EXCERPT])
    except RecursionError:
        return Row(line, None, "invalid JSON: nested too deeply", text[:_EXCERPT])
    if not isinstance(data, dict):
        return Row(line, None, f"a JSON object expected, found {type(data).__name__}", text[:_EXCERPT])
    return Row(line, data)
