"""The Redis adapter of the Leases port: ``SET key NX PX ttl``, the first setter holds the lease."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tracardi.storage.errors import Unavailable
from tracardi.storage.redis.keys import Keys

if TYPE_CHECKING:
    from tracardi.storage.ports import Leases


class RedisLeases:
    """Leases shared by every host on one Redis."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "tracardi:") -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def take(self, key: str, ttl: float) -> bool:
        try:
            return bool(await self._r.set(self._keys.lease(key), b"1", nx=True, px=max(1, int(ttl * 1000))))
        except RedisError as exc:
            raise Unavailable(f"redis: {exc}") from exc


if TYPE_CHECKING:

    def _conforms(leases: RedisLeases) -> Leases:
        return leases
