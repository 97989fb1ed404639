"""Auto-batching of script calls: the calls made while a round trip is under way share the next pipeline.

Finishing jobs one round trip each caps a consumer at a few thousand jobs a second and takes a connection per
concurrent finish; here every call made in the same loop iteration (and while a flush is in flight) goes out
in one pipeline on one connection, and each caller gets its own reply or error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError, ResponseError

from tracardi.storage.errors import StorageError, Unavailable

_Call = tuple[AsyncScript, list[str], list[Any], asyncio.Future[Any]]


class Batcher:
    """Sends queued script calls in pipelines, one flush task at a time (kept here, never fire-and-forget)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._r = client
        self._pending: list[_Call] = []
        self._task: asyncio.Task[None] | None = None

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((script, keys, args, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush(), name="redis-queue-batch")
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the callers of this loop iteration join the first pipeline
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._r.pipeline(transaction=False) as pipe:
                    for script, keys, args, _ in batch:
                        await script(keys=keys, args=args, client=pipe)
                    replies = await pipe.execute(raise_on_error=False)
            except RedisError as exc:
                _fail(batch, Unavailable(f"redis: {exc}"))
                continue
            except BaseException as exc:
                _fail(batch, Unavailable(f"redis: the batch was interrupted: {exc!r}"))
                raise
            for (_, _, _, future), reply in zip(batch, replies, strict=True):
                if future.done():
                    continue
                if isinstance(reply, ResponseError):
                    future.set_exception(StorageError(f"redis: {reply}"))
                elif isinstance(reply, RedisError):
                    future.set_exception(Unavailable(f"redis: {reply}"))
                else:
                    future.set_result(reply)

    async def close(self) -> None:
        """Wait for the flush in flight."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task})


def _fail(batch: list[_Call], error: StorageError) -> None:
    for _, _, _, future in batch:
        if not future.done():
            future.set_exception(error)
