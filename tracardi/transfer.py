"""``python -m tracardi export`` / ``import``: every document as JSON lines, to move between storage adapters.

One line per document: ``{"index": "<kind>", "id": "<id>", "doc": {...}}``, written by scanning each index in id
order through the documents port, so it works the same on the embedded store and on OpenSearch. Import writes each
line as an unconditional upsert in bulk batches: re-running an import is harmless, and versions start again at the
target store's numbering (a version is a store's concurrency token, not part of the data).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import IO, Any

import msgspec

from tracardi.storage import DocumentStore, Index, Put, StorageError


class Line(msgspec.Struct, kw_only=True):
    """One exported document."""

    index: str
    id: str
    doc: msgspec.Raw


_encode = msgspec.json.Encoder().encode
_decode_line = msgspec.json.Decoder(Line).decode


async def export_documents(
    store: DocumentStore, indices: Iterable[Index[Any]], out: IO[bytes], *, page_size: int = 500
) -> dict[str, int]:
    """Write every document of ``indices`` to ``out``; return how many per index."""
    counts: dict[str, int] = {}
    for index in indices:
        counts[index.name] = 0
        async for page in store.scan(index, page_size=page_size):
            for item in page:
                doc_id = getattr(item.doc, "id", None)
                if not isinstance(doc_id, str):
                    raise StorageError(f"{index.name}: a document without a string id cannot be exported")
                out.write(_encode(Line(index=index.name, id=doc_id, doc=msgspec.Raw(_encode(item.doc)))) + b"\n")
            counts[index.name] += len(page)
    return counts


async def _batches(lines: Iterable[bytes], size: int) -> AsyncIterator[list[Line]]:
    batch: list[Line] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            batch.append(_decode_line(raw))
        except msgspec.DecodeError as exc:
            raise StorageError(f"line {number}: {exc}") from exc
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def import_documents(
    store: DocumentStore, indices: Sequence[Index[Any]], lines: Iterable[bytes], *, batch_size: int = 500
) -> dict[str, int]:
    """Upsert every line into ``store``; return how many per index. Stops at the first refused document."""
    by_name = {index.name: index for index in indices}
    decoders = {index.name: msgspec.json.Decoder(index.doc_type) for index in indices}
    counts = dict.fromkeys(by_name, 0)
    async for batch in _batches(lines, batch_size):
        ops = []
        for line in batch:
            if line.index not in by_name:
                raise StorageError(f"unknown index {line.index!r} (known: {sorted(by_name)})")
            ops.append(Put(by_name[line.index], line.id, decoders[line.index].decode(line.doc)))
        for op, result in zip(ops, await store.bulk(ops), strict=True):
            if result.error is not None:
                raise StorageError(f"{op.index.name}/{op.doc_id}: {result.error}")
            counts[op.index.name] += 1
    return counts
