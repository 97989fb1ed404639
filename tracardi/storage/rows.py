"""The port of import sources: rows read in batches from a checkpoint, each batch ending at the next checkpoint.

A reader never stops at a bad row: a row that cannot be read (an over-long line, bytes not in the file's encoding,
broken CSV quoting, a line that is not a JSON object) comes back with its line number and the reason, and reading
goes on with the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tracardi.domain.imports import Checkpoint, Source
from tracardi.storage.errors import StorageError


@dataclass(frozen=True, slots=True)
class Row:
    """One row: its line (a file's physical line where it starts, or an index document's position from 1) and
    its fields, or the reason it could not be read."""

    line: int
    data: dict[str, Any] | None
    error: str = ""
    raw: str = ""


@dataclass(frozen=True, slots=True)
class RowBatch:
    """Some rows and the checkpoint right after the last of them."""

    rows: list[Row]
    checkpoint: Checkpoint


class UnreadableSource(StorageError):
    """The source cannot be read at all (no such file, outside the import folder, no such index, refused)."""


class RowReader(Protocol):
    """Reads one import source."""

    async def size(self) -> int:
        """Bytes of the file, or documents in the index (the unit of ``Checkpoint.offset``)."""
        ...

    def batches(self, start: Checkpoint, size: int) -> AsyncIterator[RowBatch]:
        """Batches of up to ``size`` rows from ``start`` to the end of the source."""
        ...

    async def close(self) -> None:
        """Release the file or the connection."""
        ...


OpenReader = Callable[[Source], RowReader]
"""Builds the reader of a source; raises UnreadableSource when it cannot be opened (chosen by the runtime)."""
