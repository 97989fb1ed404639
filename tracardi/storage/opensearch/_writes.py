"""The write path: bulk requests built from port operations, answered item by item.

Operations on the same document run in order: a bulk is cut into waves where each document appears at most
once (``[create a, put a if_version=1]`` is two waves), so a later item sees the version the earlier one wrote.
Most bulks (events with fresh ids) are one wave, one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from tracardi.storage.errors import NotFound, StorageError, VersionConflict
from tracardi.storage.opensearch._encode import searchable
from tracardi.storage.opensearch._versions import Seen
from tracardi.storage.ports import Delete, Put, WriteOp, WriteResult

_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Planned:
    """One operation of a wave: its position in the caller's list, and its bulk action once decided."""

    pos: int
    op: WriteOp
    action: dict[str, Any] | None = None
    source: dict[str, Any] | None = None


def waves(ops: Sequence[WriteOp]) -> list[list[Planned]]:
    """The operations cut so that each document appears at most once per wave, order kept."""
    count: dict[tuple[str, str], int] = {}
    out: list[list[Planned]] = []
    for pos, op in enumerate(ops):
        key = (op.index.name, op.doc_id)
        n = count.get(key, 0)
        count[key] = n + 1
        if n == len(out):
            out.append([])
        out[n].append(Planned(pos, op))
    return out


def decide(item: Planned, seen: Seen | None, target: str | None) -> WriteResult | None:
    """Fill the bulk action of one operation, or answer it at once (a conflict or a miss found beforehand).

    ``seen`` is the document's current state when the operation needed it looked up; ``target`` the physical
    index or alias to write to (None: the document is known to be missing where it must be).
    """
    op = item.op
    name = op.index.name
    if isinstance(op, Delete):
        if target is None:
            return WriteResult(op.doc_id, error=NotFound(name, op.doc_id))
        item.action = {"delete": {"_index": target, "_id": op.doc_id}}
        return None
    if op.if_version is not None:
        if seen is None or seen.version != op.if_version:
            actual = None if seen is None else seen.version
            return WriteResult(op.doc_id, error=VersionConflict(name, op.doc_id, op.if_version, actual))
        meta = {"_index": target, "_id": op.doc_id, "if_seq_no": seen.seq_no}
        item.action = {"index": {**meta, "if_primary_term": seen.primary_term}}
    else:
        item.action = {("create" if op.create else "index"): {"_index": target, "_id": op.doc_id}}
    return None


def to_source(op: Put[Any], sortable: frozenset[str] | None) -> dict[str, Any]:
    """The stored form of a document (its fields plus the adapter's searchable pairs)."""
    source = msgspec.to_builtins(op.doc)
    if not isinstance(source, dict):
        raise StorageError(f"{op.index.name}/{op.doc_id}: a document must encode as an object")
    return searchable(source, op.doc_id, sortable)


def body(items: Sequence[Planned]) -> bytes:
    """The NDJSON body of a bulk request."""
    lines: list[bytes] = []
    for item in items:
        lines.append(_encode(item.action))
        if item.source is not None:
            lines.append(_encode(item.source))
    lines.append(b"")
    return b"\n".join(lines)


def outcome(item: Planned, answer: dict[str, Any]) -> WriteResult | None:
    """The result of one bulk item; None for a version conflict, whose actual version is looked up after."""
    op = item.op
    status = int(answer.get("status", 500))
    if 200 <= status < 300:
        return WriteResult(op.doc_id, version=int(answer["_version"]))
    if status == 404 and isinstance(op, Delete):
        return WriteResult(op.doc_id, error=NotFound(op.index.name, op.doc_id))
    if status == 409:
        return None
    error = answer.get("error")
    reason = error.get("reason", error) if isinstance(error, dict) else error
    return WriteResult(op.doc_id, error=StorageError(f"{op.index.name}/{op.doc_id}: {status} {reason}"))


def conflict(op: WriteOp, actual: int | None) -> WriteResult:
    """The result of a write that lost a race, with the version that won."""
    expected = op.if_version if isinstance(op, Put) else None
    return WriteResult(op.doc_id, error=VersionConflict(op.index.name, op.doc_id, expected, actual))
