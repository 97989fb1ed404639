"""Keyed asyncio locks for one process: the embedded default of the Locks port."""

from __future__ import annotations

import asyncio
from types import TracebackType


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class _Held:
    """Async context manager holding one key (a class, not a generator: it sits on the /track hot path)."""

    __slots__ = ("_key", "_table")

    def __init__(self, table: dict[str, _Entry], key: str) -> None:
        self._table = table
        self._key = key

    async def __aenter__(self) -> None:
        entry = self._table.get(self._key)
        if entry is None:
            entry = self._table[self._key] = _Entry()
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:
            self._leave(entry)
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        entry = self._table[self._key]
        entry.lock.release()
        self._leave(entry)

    def _leave(self, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._table[self._key]


class InProcessLocks:
    """One asyncio.Lock per key, dropped as soon as nobody holds or waits for it."""

    def __init__(self) -> None:
        self._table: dict[str, _Entry] = {}

    def hold(self, key: str) -> _Held:
        return _Held(self._table, key)

    def __len__(self) -> int:
        return len(self._table)
