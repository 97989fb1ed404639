"""Readers of import sources, picked by the composition root: files under an import folder, or another index."""

from __future__ import annotations

from pathlib import Path

from tracardi.domain.imports import IndexSource, Source
from tracardi.storage.opensearch.reader import IndexRows
from tracardi.storage.readers.files import FileRows
from tracardi.storage.rows import OpenReader, RowReader


def reader_factory(folder: Path | None, *, max_line_bytes: int) -> OpenReader:
    """Opens the reader of a source; files only under ``folder`` (None: anywhere, for the operator's CLI)."""

    def open_reader(source: Source) -> RowReader:
        if isinstance(source, IndexSource):
            return IndexRows(source)
        return FileRows(source, folder, max_line_bytes=max_line_bytes)

    return open_reader


__all__ = ["FileRows", "IndexRows", "reader_factory"]
