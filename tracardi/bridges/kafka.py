"""Kafka bridge (``tracardi[kafka]``, aiokafka): a consumer group with offsets committed by hand.

Written to the same contract as the other kinds but only tested where a Kafka broker is reachable. Offsets are
committed per partition up to the first message not yet stored (messages finish out of order when
``concurrency`` > 1), so after a crash or a rebalance consumption resumes at the first unfinished message. Kafka
says nothing about redelivery, so every message is checked against the stored events (the message id is
``topic:partition:offset``). Dead letters are produced to ``dead_letter_topic`` with the reason in the
``x-tracardi-reason`` header. Lag is the high watermark minus the position, summed over the assigned partitions.
"""

from __future__ import annotations

import contextlib
from collections import deque

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from tracardi.bridges._base import Delivery
from tracardi.bridges._configs import KafkaConfig


class _Offset:
    __slots__ = ("done", "offset", "tp")

    def __init__(self, tp: TopicPartition, offset: int) -> None:
        self.tp = tp
        self.offset = offset
        self.done = False


class KafkaBroker:
    """One consumer (and a producer for dead letters) on one topic."""

    def __init__(self, config: KafkaConfig, *, source_id: str, host: str) -> None:
        self._c = config
        self._group = config.group or f"tracardi-{source_id}"
        self._dead = config.dead_letter_topic or f"{config.topic}.dead"
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._pending: dict[TopicPartition, deque[_Offset]] = {}

    async def connect(self) -> None:
        self._pending = {}
        self._consumer = AIOKafkaConsumer(
            self._c.topic,
            bootstrap_servers=self._c.bootstrap_servers,
            group_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._c.prefetch,
        )
        self._producer = AIOKafkaProducer(bootstrap_servers=self._c.bootstrap_servers, acks="all")
        await self._consumer.start()
        await self._producer.start()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise ConnectionError("not connected")
        return self._consumer

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        batches = await self.consumer.getmany(timeout_ms=int(wait * 1000), max_records=limit)
        return [self._delivery(tp, record) for tp, records in batches.items() for record in records]

    def _delivery(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> Delivery:
        mark = _Offset(tp, record.offset)
        self._pending.setdefault(tp, deque()).append(mark)
        body = record.value or b""
        return Delivery(id=f"{tp.topic}:{tp.partition}:{record.offset}", body=body, redelivered=True, handle=mark)

    async def ack(self, delivery: Delivery) -> None:
        mark: _Offset = delivery.handle
        mark.done = True
        queue = self._pending.get(mark.tp)
        last = None
        while queue and queue[0].done:
            last = queue.popleft().offset
        if last is not None:
            await self.consumer.commit({mark.tp: OffsetAndMetadata(last + 1, "")})

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        if self._producer is None:
            raise ConnectionError("not connected")
        headers = [("x-tracardi-reason", reason.encode()), ("x-tracardi-id", delivery.id.encode())]
        await self._producer.send_and_wait(self._dead, delivery.body, headers=headers)
        await self.ack(delivery)

    async def lag(self) -> int | None:
        total = 0
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                return None
            total += max(0, high - await self.consumer.position(tp))
        return total

    async def close(self) -> None:
        consumer, producer, self._consumer, self._producer = self._consumer, self._producer, None, None
        for client in (consumer, producer):
            if client is not None:
                with contextlib.suppress(Exception):  # stopping a broken client may raise anything; it is gone
                    await client.stop()
