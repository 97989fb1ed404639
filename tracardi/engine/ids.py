"""Random uuid4-shaped ids from a buffered CSPRNG.

``uuid.uuid4()`` makes one ``os.urandom`` system call per id; under load each call releases the GIL and then waits
to get it back from the storage threads. Drawing 4 KiB at a time keeps ids unguessable at a fraction of the cost.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

_BATCH = 256
_VERSION_CLEAR = ~(0xF000 << 64) & ((1 << 128) - 1)
_VERSION_4 = 0x4000 << 64
_VERSION_7 = 0x7000 << 64
_VARIANT_CLEAR = ~(0xC000 << 48) & ((1 << 128) - 1)
_VARIANT_RFC = 0x8000 << 48


class IdFactory:
    """Callable that returns a new lower-case uuid4 string per call; ``time_ordered`` makes UUIDv7-shaped ones."""

    def __init__(self) -> None:
        self._buffer = b""
        self._pos = 0

    def _random128(self) -> int:
        if self._pos >= len(self._buffer):
            self._buffer = os.urandom(16 * _BATCH)
            self._pos = 0
        n = int.from_bytes(self._buffer[self._pos : self._pos + 16], "big")
        self._pos += 16
        return n

    def __call__(self) -> str:
        n = (self._random128() & _VERSION_CLEAR & _VARIANT_CLEAR) | _VERSION_4 | _VARIANT_RFC
        return _format(n)

    def time_ordered(self, now: datetime) -> str:
        """A UUIDv7-shaped id: 48 bits of milliseconds since the epoch, then random bits.

        Ids made later sort later, so a store's id index grows at its end instead of at a random page per insert.
        """
        millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
        n = (millis << 80) | (self._random128() & ((1 << 80) - 1))
        n = (n & _VERSION_CLEAR & _VARIANT_CLEAR) | _VERSION_7 | _VARIANT_RFC
        return _format(n)


def _format(n: int) -> str:
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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
