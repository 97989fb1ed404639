"""An exact in-process read cache of one index: id -> (version, stored JSON).

Exact because only two paths fill it: the writer thread, right after a commit and before any caller hears of it,
and a read that saw no write to this index between starting and finishing (the ``epoch`` check). The JSON text
is kept, not the document, so every reader decodes its own copy of a mutable Struct.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

Entry = tuple[int, str | bytes]


class DocCache:
    """An LRU of at most ``size`` documents, shared by the event loop and the writer thread."""

    def __init__(self, size: int) -> None:
        self._size = max(size, 0)
        self._items: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.epoch = 0  # bumped by every committed write to the index

    def __len__(self) -> int:
        return len(self._items)

    def get(self, doc_id: str) -> Entry | None:
        """The cached entry, marked as recently used, or None."""
        with self._lock:
            entry = self._items.get(doc_id)
            if entry is not None:
                self._items.move_to_end(doc_id)
            return entry

    def fill(self, doc_id: str, entry: Entry, epoch: int) -> None:
        """Remember what a read found, unless a write to the index committed since the read began."""
        with self._lock:
            if epoch == self.epoch:
                self._store(doc_id, entry)

    def committed(self, doc_id: str, entry: Entry | None) -> None:
        """Record a committed write (an entry) or delete (None)."""
        with self._lock:
            self.epoch += 1
            if entry is None:
                self._items.pop(doc_id, None)
            else:
                self._store(doc_id, entry)

    def _store(self, doc_id: str, entry: Entry) -> None:
        items = self._items
        items[doc_id] = entry
        items.move_to_end(doc_id)
        if len(items) > self._size:
            items.popitem(last=False)
