"""RabbitMQ bridge (``tracardi[rabbitmq]``, aio-pika): consume a durable queue with manual acks and a prefetch.

Messages are acknowledged after the tracker stored them; a message delivered again after a lost connection
carries the ``redelivered`` flag, which makes the bridge look whether it is already stored. Dead letters are
published (persistent, with publisher confirms) to ``dead_letter_queue`` with the reason in the
``x-tracardi-reason`` header before the original is acknowledged. Lag is the queue's ready message count.
"""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue

from tracardi.bridges._base import Delivery, body_id
from tracardi.bridges._configs import RabbitMqConfig


class RabbitMqBroker:
    """One connection and channel consuming one queue."""

    def __init__(self, config: RabbitMqConfig, *, source_id: str, host: str) -> None:
        self._c = config
        self._source_id = source_id
        self._dead = config.dead_letter_queue or f"{config.queue}.dead"
        self._conn: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def connect(self) -> None:
        self._inbox = asyncio.Queue()
        self._conn = conn = await aio_pika.connect(self._c.url, timeout=10)
        self._channel = await conn.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self._c.prefetch)
        self._queue = await self._channel.declare_queue(self._c.queue, durable=True, passive=not self._c.declare)
        await self._channel.declare_queue(self._dead, durable=True)
        await self._queue.consume(self._inbox.put, no_ack=False)

    def _alive(self) -> AbstractChannel:
        if self._conn is None or self._channel is None or self._conn.is_closed or self._channel.is_closed:
            raise ConnectionError("the RabbitMQ connection is closed")
        return self._channel

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        self._alive()
        try:
            first = await asyncio.wait_for(self._inbox.get(), wait)
        except TimeoutError:
            return []
        taken = [first]
        while len(taken) < limit and not self._inbox.empty():
            taken.append(self._inbox.get_nowait())
        return [
            Delivery(id=m.message_id or body_id(m.body), body=m.body, redelivered=bool(m.redelivered), handle=m)
            for m in taken
        ]

    async def ack(self, delivery: Delivery) -> None:
        await delivery.handle.ack()

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        message = aio_pika.Message(
            delivery.body,
            headers={"x-tracardi-reason": reason, "x-tracardi-source": self._source_id},
            message_id=delivery.id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._alive().default_exchange.publish(message, routing_key=self._dead)
        await delivery.handle.ack()

    async def lag(self) -> int | None:
        declared = await self._alive().declare_queue(self._c.queue, passive=True)
        return declared.declaration_result.message_count

    async def close(self) -> None:
        conn, self._conn, self._channel, self._queue = self._conn, None, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may raise anything; it is gone
                await conn.close()
