"""Redis bridges (core install): a list with a reliable pop, and a stream with a consumer group.

``redis-list``: producers LPUSH; the bridge BLMOVEs each message into its own processing list and removes it
there once tracked, so a message taken by a bridge that died is still in the processing list, and is delivered
again when the bridge starts next (same ``consumer``). Dead letters are JSON envelopes LPUSHed on
``dead_letter_key``.

``redis-stream``: producers XADD a ``body`` field; the bridge reads with XREADGROUP in ``group`` and XACKs once
tracked. At start it first re-reads its own pending entries; entries another consumer left pending longer than
``claim_idle`` are taken over with XAUTOCLAIM. Dead letters are XADDed to ``dead_letter_stream`` with the
original id, body and reason. Lag is the group's ``lag`` (Redis 7).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from tracardi.bridges._base import Delivery, body_id, envelope
from tracardi.bridges._configs import RedisListConfig, RedisStreamConfig


class _Connection:
    """The one Redis client of a bridge: opened by ``connect``, gone after ``close``."""

    _redis: aioredis.Redis | None = None

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise ConnectionError("not connected")
        return self._redis

    def _open(self, url: str, source_id: str) -> None:
        # the client name shows the bridge in CLIENT LIST
        self._redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=5.0, health_check_interval=30, client_name=f"tracardi-bridge:{source_id}"
        )

    async def close(self) -> None:
        client, self._redis = self._redis, None
        if client is not None:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()


class RedisListBroker(_Connection):
    """A Redis list consumed with BLMOVE into a processing list."""

    def __init__(self, config: RedisListConfig, *, source_id: str, host: str) -> None:
        self._c = config
        self._source_id = source_id
        self._processing = f"{config.key}:processing:{config.consumer or host}"
        self._dead = config.dead_letter_key or f"{config.key}:dead"
        self._recovered: list[bytes] = []

    async def connect(self) -> None:
        self._open(self._c.url, self._source_id)
        # what a previous run took but did not finish, oldest first (BLMOVE pushes on the left)
        taken: list[Any] = await self.redis.lrange(self._processing, 0, -1)
        self._recovered = taken[::-1]

    def _delivery(self, body: bytes, redelivered: bool) -> Delivery:
        return Delivery(id=body_id(body), body=body, redelivered=redelivered, handle=body)

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        if self._recovered:
            taken, self._recovered = self._recovered[:limit], self._recovered[limit:]
            return [self._delivery(body, True) for body in taken]
        client: Any = self.redis  # typed as int seconds, but Redis 6+ takes a fraction
        first = await client.blmove(self._c.key, self._processing, wait, "RIGHT", "LEFT")
        if first is None:
            return []
        bodies = [first]
        if limit > 1:
            async with self.redis.pipeline(transaction=False) as pipe:
                for _ in range(limit - 1):
                    pipe.lmove(self._c.key, self._processing, "RIGHT", "LEFT")
                bodies.extend(b for b in await pipe.execute() if b is not None)
        return [self._delivery(body, False) for body in bodies]

    async def ack(self, delivery: Delivery) -> None:
        await self.redis.lrem(self._processing, 1, delivery.handle)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._dead, envelope(delivery.body, reason, self._c.key))
            pipe.lrem(self._processing, 1, delivery.handle)
            await pipe.execute()

    async def lag(self) -> int | None:
        return int(await self.redis.llen(self._c.key))


class RedisStreamBroker(_Connection):
    """A Redis stream consumed in a consumer group."""

    def __init__(self, config: RedisStreamConfig, *, source_id: str, host: str) -> None:
        self._c = config
        self._source_id = source_id
        self._consumer = config.consumer or host
        self._dead = config.dead_letter_stream or f"{config.stream}:dead"
        self._field = config.field.encode()
        self._own_pending: str | None = "0"  # cursor through this consumer's pending entries; None: done
        self._claim_cursor = "0-0"
        self._next_claim = 0.0

    async def connect(self) -> None:
        self._open(self._c.url, self._source_id)
        try:
            await self.redis.xgroup_create(self._c.stream, self._c.group, id=self._c.start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._own_pending = "0"
        self._next_claim = time.monotonic() + self._c.claim_idle / 2

    def _deliveries(self, entries: list[Any], redelivered: bool) -> list[Delivery]:
        out = []
        for entry_id, fields in entries:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            body = (fields or {}).get(self._field)
            problem = "" if body is not None else f"entry has no `{self._c.field}` field"
            out.append(Delivery(id=eid, body=body or b"", redelivered=redelivered, handle=eid, problem=problem))
        return out

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        if self._own_pending is not None:
            reply: Any = await self.redis.xreadgroup(
                self._c.group, self._consumer, {self._c.stream: self._own_pending}, count=limit
            )
            entries = reply[0][1] if reply else []
            if entries:
                last = entries[-1][0]
                self._own_pending = last.decode() if isinstance(last, bytes) else str(last)
                return self._deliveries(entries, True)
            self._own_pending = None
        if time.monotonic() >= self._next_claim:
            claimed = await self._claim(limit)
            if claimed:
                return claimed
        reply = await self.redis.xreadgroup(
            self._c.group, self._consumer, {self._c.stream: ">"}, count=limit, block=max(1, int(wait * 1000))
        )
        return self._deliveries(reply[0][1], False) if reply else []

    async def _claim(self, limit: int) -> list[Delivery]:
        reply: Any = await self.redis.xautoclaim(
            self._c.stream,
            self._c.group,
            self._consumer,
            min_idle_time=int(self._c.claim_idle * 1000),
            start_id=self._claim_cursor,
            count=limit,
        )
        cursor, entries = reply[0], reply[1]
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._claim_cursor == "0-0":
            self._next_claim = time.monotonic() + self._c.claim_idle / 2
        return self._deliveries(entries, True)

    async def ack(self, delivery: Delivery) -> None:
        await self.redis.xack(self._c.stream, self._c.group, delivery.handle)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        fields: dict[Any, Any] = {"id": delivery.id, "body": delivery.body, "reason": reason}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self._dead, fields)
            pipe.xack(self._c.stream, self._c.group, delivery.handle)
            await pipe.execute()

    async def lag(self) -> int | None:
        for group in await self.redis.xinfo_groups(self._c.stream):
            name = group.get("name")
            if (name.decode() if isinstance(name, bytes) else name) == self._c.group:
                lag = group.get("lag")
                return int(lag) if lag is not None else None
        return None
