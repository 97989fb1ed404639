"""The port's version of a document, and the sequence number and primary term OpenSearch checks writes by.

The port's ``version`` is OpenSearch's own ``_version`` (1 when created, +1 on every write), which is what
callers compare. Conditional writes, however, go with ``if_seq_no``/``if_primary_term``, so the adapter keeps,
per document, the ``(_version, _seq_no, _primary_term, physical index)`` it last saw in a read or a write answer,
in a bounded LRU map. A write ``if_version=N`` uses the remembered pair when it is for version N, and otherwise
looks the document up first (a realtime get, no refresh needed). A 409 is then a real conflict; its actual
version is looked up to report it, unless that version is the one expected: then the remembered pair was stale
(the document was copied into a new index version by a migration, which keeps ``_version``), and the write is
retried once with the fresh pair.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Seen:
    """Where a document is and which write of it we saw last."""

    version: int
    seq_no: int
    primary_term: int
    physical: str


class VersionMap:
    """The last seen state of recently touched documents, least recently used dropped first."""

    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, str], Seen] = OrderedDict()

    def get(self, index: str, doc_id: str) -> Seen | None:
        seen = self._seen.get((index, doc_id))
        if seen is not None:
            self._seen.move_to_end((index, doc_id))
        return seen

    def remember(self, index: str, doc_id: str, seen: Seen) -> None:
        key = (index, doc_id)
        current = self._seen.get(key)
        if (
            current is not None
            and current.physical == seen.physical
            and (current.primary_term, current.seq_no) > (seen.primary_term, seen.seq_no)
        ):
            return  # a newer write of it was seen already (answers of concurrent requests arrive in any order)
        self._seen[key] = seen
        self._seen.move_to_end(key)
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)

    def forget(self, index: str, doc_id: str) -> None:
        self._seen.pop((index, doc_id), None)


def seen_from(hit: dict[str, object]) -> Seen:
    """The state in a get, mget, search or bulk item answer."""
    return Seen(
        version=int(hit["_version"]),  # type: ignore[call-overload]
        seq_no=int(hit["_seq_no"]),  # type: ignore[call-overload]
        primary_term=int(hit["_primary_term"]),  # type: ignore[call-overload]
        physical=str(hit["_index"]),
    )
