"""Random uuid4-shaped ids from a buffered CSPRNG.

``uuid.uuid4()`` makes one ``os.urandom`` system call per id; under load each call releases the GIL and then waits
to get it back from the storage threads. Drawing 4 KiB at a time keeps ids unguessable at a fraction of the cost.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

_BATCH = 4096  # ids per os.urandom call: each call releases the GIL and waits to get it back


class IdFactory:
    """Callable that returns a new lower-case uuid4 string per call; ``time_ordered`` makes UUIDv7-shaped ones."""

    def __init__(self) -> None:
        self._buffer = b""
        self._pos = 0

    def _random_hex(self) -> str:
        """32 random hex digits from the buffer."""
        pos = self._pos
        if pos >= len(self._buffer):
            self._buffer = os.urandom(16 * _BATCH)
            pos = 0
        self._pos = pos + 16
        return self._buffer[pos : pos + 16].hex()

    def __call__(self) -> str:
        h = self._random_hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def time_ordered(self, now: datetime) -> str:
        """A UUIDv7-shaped id: 48 bits of milliseconds since the epoch, then random bits.

        Ids made later sort later, so a store's id index grows at its end instead of at a random page per insert.
        """
        t = f"{int(now.timestamp() * 1000) & _MILLIS:012x}"
        h = self._random_hex()
        return f"{t[:8]}-{t[8:]}-7{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# the variant digit: the top two bits of a random hex digit set to 10 (RFC 4122)
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}
_MILLIS = (1 << 48) - 1


class RepeatedIds:
    """Event ids that repeat across the attempts of one request: the k-th id an attempt asks for is the same in
    every attempt. An attempt whose profile write lost a race to another host has already written its events (a
    bulk applies each item alone); the retry then overwrites them instead of adding copies."""

    def __init__(self, new_id: Callable[[datetime], str]) -> None:
        self._new_id = new_id
        self._ids: list[str] = []
        self._next = 0

    def restart(self) -> None:
        """A new attempt: hand out the same ids again, from the first."""
        self._next = 0

    def __call__(self, when: datetime) -> str:
        if self._next == len(self._ids):
            self._ids.append(self._new_id(when))
        self._next += 1
        return self._ids[self._next - 1]
