"""The Redis adapter of the Locks port: exclusion across hosts for the keys that need it.

Every key is first locked in process, so the waiters of one host queue there and not on Redis. A key under one of
the ``shared`` prefixes (by default ``merge:``, the merge-key values of identity resolution) is then also taken in
Redis with ``SET key token NX PX ttl`` and released by a script that deletes it only while it still holds that
token: two hosts never merge on the same e-mail at once, so they never both keep a profile with it.

The other keys (the tracker's ``session:`` and ``profile:`` locks, taken on every /track) stay in process: across
hosts the stores' versioned writes keep their updates, and a Redis round trip per lock would cost every track more
than the rare retry it saves.

``ttl`` bounds how long a crashed host blocks a key; a hold that outlives it loses its exclusion, so it is set far
above what a hold lasts (a merge's lookup and write).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from types import TracebackType
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tracardi.storage.errors import Unavailable
from tracardi.storage.memory import InProcessLocks
from tracardi.storage.redis.keys import Keys

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from tracardi.storage.ports import Locks

# KEYS: the lock. ARGV: the holder's token. Deletes the lock only while that holder has it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_FIRST_WAIT = 0.002  # seconds before asking Redis again for a busy key, doubled up to _LONGEST_WAIT
_LONGEST_WAIT = 0.05


class RedisLocks:
    """In-process locks for every key, Redis locks on top for the keys under a ``shared`` prefix."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "tracardi:",
        ttl: float = 30.0,
        shared: tuple[str, ...] = ("merge:",),
    ) -> None:
        if ttl <= 0:
            raise ValueError("a lock's ttl must be positive")
        self._r = client
        self._keys = Keys(prefix)
        self._ttl_ms = max(1, int(ttl * 1000))
        self._shared = shared
        self._local = InProcessLocks()
        self._release = client.register_script(_RELEASE)

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        local = self._local.hold(key)
        if not key.startswith(self._shared):
            return local
        return _Shared(self, key, local)

    async def _take(self, key: str, token: str) -> None:
        """Wait until Redis gives ``key`` to ``token``."""
        name, wait = self._keys.lock(key), _FIRST_WAIT
        while not await self._r.set(name, token, nx=True, px=self._ttl_ms):
            await asyncio.sleep(wait * random.uniform(0.5, 1.0))
            wait = min(wait * 2, _LONGEST_WAIT)

    async def _give_back(self, key: str, token: str) -> None:
        await self._release(keys=[self._keys.lock(key)], args=[token])


class _Shared:
    """Holds one key in process, then in Redis; lets go in the reverse order."""

    __slots__ = ("_key", "_local", "_locks", "_token")

    def __init__(self, locks: RedisLocks, key: str, local: AbstractAsyncContextManager[None]) -> None:
        self._locks = locks
        self._key = key
        self._local = local
        self._token = secrets.token_hex(16)

    async def __aenter__(self) -> None:
        await self._local.__aenter__()
        try:
            await self._locks._take(self._key, self._token)
        except BaseException as exc:
            # Cancelled (a caller's timeout) or failed after SET may have reached Redis: give the key back if ours.
            with contextlib.suppress(RedisError, OSError):
                await self._locks._give_back(self._key, self._token)
            await self._local.__aexit__(type(exc), exc, exc.__traceback__)
            if isinstance(exc, RedisError):
                raise Unavailable(f"redis: {exc}") from exc
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            with contextlib.suppress(RedisError, OSError):  # unreleased, the key expires by its ttl; the work stands
                await self._locks._give_back(self._key, self._token)
        finally:
            await self._local.__aexit__(exc_type, exc, tb)


if TYPE_CHECKING:

    def _conforms(locks: RedisLocks) -> Locks:
        return locks
