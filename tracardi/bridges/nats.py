"""NATS JetStream bridge (``tracardi[nats]``, nats-py): a durable pull consumer with explicit acks.

Each fetch takes at most ``prefetch`` messages; a message not acknowledged within ``ack_wait`` seconds (its
bridge died) is delivered again, with ``num_delivered`` > 1, which makes the bridge look whether it is already
stored. The message id is the stream sequence. Dead letters are published to ``dead_letter_subject`` (kept by
the stream ``dead_letter_stream``, created when missing) with the reason in the ``Tracardi-Reason`` header, then
the original is terminated (never delivered again). Messages taken but not finished are handed back (NAK) on
close, so they need not wait for ``ack_wait``. Lag is the consumer's ``num_pending``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from tracardi.bridges._base import Delivery
from tracardi.bridges._configs import NatsConfig


class NatsBroker:
    """One NATS connection with one pull subscription."""

    def __init__(self, config: NatsConfig, *, source_id: str, host: str) -> None:
        self._c = config
        self._durable = config.durable or f"tracardi-{source_id}"
        self._dead_subject = config.dead_letter_subject or f"tracardi.dead-letter.{source_id}"
        self._dead_stream = config.dead_letter_stream or f"{config.stream}_DEAD"
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: Any = None
        self._unfinished: dict[str, Any] = {}  # delivery id -> message, handed back (nak) on close

    async def connect(self) -> None:
        self._unfinished = {}
        self._nc = nc = await nats.connect(self._c.url, allow_reconnect=False, connect_timeout=5)
        self._js = js = nc.jetstream()
        if self._c.declare:
            await self._ensure_stream(js, self._c.stream, self._c.subject)
        await self._ensure_stream(js, self._dead_stream, self._dead_subject)
        consumer = ConsumerConfig(
            durable_name=self._durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._c.ack_wait,
            max_ack_pending=max(self._c.prefetch, self._c.concurrency),
        )
        self._sub = await js.pull_subscribe(
            self._c.subject, durable=self._durable, stream=self._c.stream, config=consumer
        )

    @staticmethod
    async def _ensure_stream(js: JetStreamContext, name: str, subject: str) -> None:
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(name=name, subjects=[subject])

    def _alive(self) -> JetStreamContext:
        if self._nc is None or self._js is None or not self._nc.is_connected:
            raise ConnectionError("the NATS connection is closed")
        return self._js

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        self._alive()
        try:
            messages = await self._sub.fetch(batch=min(limit, self._c.prefetch), timeout=wait)
        except TimeoutError:
            return []
        out = []
        for m in messages:
            meta = m.metadata
            delivery_id = f"{self._c.stream}:{meta.sequence.stream}"
            self._unfinished[delivery_id] = m
            out.append(Delivery(id=delivery_id, body=m.data, redelivered=meta.num_delivered > 1, handle=m))
        return out

    async def ack(self, delivery: Delivery) -> None:
        await delivery.handle.ack()
        self._unfinished.pop(delivery.id, None)

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        headers = {"Tracardi-Reason": reason.replace("\r", " ").replace("\n", " "), "Tracardi-Id": delivery.id}
        await self._alive().publish(self._dead_subject, delivery.body, headers=headers)
        await delivery.handle.term()
        self._unfinished.pop(delivery.id, None)

    async def lag(self) -> int | None:
        info = await self._sub.consumer_info()
        return int(info.num_pending or 0)

    async def close(self) -> None:
        nc, self._nc, self._js, self._sub = self._nc, None, None, None
        unfinished, self._unfinished = list(self._unfinished.values()), {}
        if nc is not None:
            with contextlib.suppress(Exception):  # best effort: hand back at once rather than after ack_wait
                for message in unfinished:
                    await message.nak()
            with contextlib.suppress(Exception):  # closing a broken connection may raise anything; it is gone
                await nc.close()
