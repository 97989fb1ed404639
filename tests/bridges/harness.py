"""One harness per broker kind: publish raw messages and read the dead letters with the broker's own client.

The contract tests (``test_contract.py``) run the same scenarios over every harness whose broker answers here.
Every harness works on names unique to its test, so parallel runs on the shared servers do not collide.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import uuid
from typing import Any, ClassVar

import msgspec
import redis.asyncio as aioredis

DeadLetter = tuple[str, bytes]  # (reason, original body)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Harness:
    """A broker queue for one test."""

    kind: ClassVar[str]
    extra: ClassVar[str] = ""  # the import the kind needs
    address: ClassVar[tuple[str, int]]

    def __init__(self) -> None:
        self.name = f"bt-{uuid.uuid4().hex[:10]}"

    @classmethod
    def skip_reason(cls) -> str | None:
        if cls.extra:
            try:
                __import__(cls.extra)
            except ImportError:
                return f"{cls.kind}: client {cls.extra} not installed (pip install 'tracardi[{cls.kind}]')"
        host, port = cls.address
        if not reachable(host, port):
            return f"{cls.kind}: no broker answers on {host}:{port}"
        return None

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    async def publish(self, bodies: list[bytes]) -> None:
        raise NotImplementedError

    async def dead_letters(self) -> list[DeadLetter]:
        raise NotImplementedError

    async def close(self) -> None:
        """Delete what the test created."""


def _redis_url() -> str:
    return os.environ.get("TRACARDI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_address() -> tuple[str, int]:
    url = _redis_url().split("//", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = url.partition(":")
    return host, int(port or 6379)


def unwrap(envelope: bytes) -> DeadLetter:
    doc = msgspec.json.decode(envelope)
    body = doc["body"].encode() if doc["encoding"] == "utf-8" else base64.b64decode(doc["body"])
    return doc["reason"], body


class RedisListHarness(Harness):
    kind = "redis-list"
    address = _redis_address()

    def __init__(self) -> None:
        super().__init__()
        self.redis = aioredis.Redis.from_url(_redis_url())

    def config(self) -> dict[str, Any]:
        return {"url": _redis_url(), "key": self.name, "consumer": "test"}

    async def publish(self, bodies: list[bytes]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for body in bodies:
                pipe.lpush(self.name, body)
            await pipe.execute()

    async def dead_letters(self) -> list[DeadLetter]:
        raw = await self.redis.lrange(f"{self.name}:dead", 0, -1)
        return [unwrap(item) for item in reversed(raw)]

    async def close(self) -> None:
        keys = [k async for k in self.redis.scan_iter(f"{self.name}*")]
        if keys:
            await self.redis.delete(*keys)
        await self.redis.aclose()


class RedisStreamHarness(RedisListHarness):
    kind = "redis-stream"

    def config(self) -> dict[str, Any]:
        return {"url": _redis_url(), "stream": self.name, "consumer": "test"}

    async def publish(self, bodies: list[bytes]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for body in bodies:
                pipe.xadd(self.name, {b"body": body})
            await pipe.execute()

    async def dead_letters(self) -> list[DeadLetter]:
        entries = await self.redis.xrange(f"{self.name}:dead")
        return [(fields[b"reason"].decode(), fields[b"body"]) for _, fields in entries]


HARNESSES: list[type[Harness]] = [RedisListHarness, RedisStreamHarness]


@contextlib.asynccontextmanager
async def opened(cls: type[Harness]) -> Any:
    harness = cls()
    try:
        yield harness
    finally:
        await harness.close()
