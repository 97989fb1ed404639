"""MQTT bridge (``tracardi[mqtt]``, aiomqtt over paho-mqtt): a persistent session subscribed with QoS 1.

The session is persistent (``clean_session = false`` under a stable ``client_id``), so messages published while
the bridge is away wait in the broker, and a message whose PUBACK was never sent is delivered again. PUBACKs are
sent by hand, only after the tracker stored the message, and in the order the messages arrived (MQTT 3.1.1
asks for that). MQTT has no dead-letter queue: dead letters are published with QoS 1 to ``dead_letter_topic``
as a JSON envelope ``{"reason", "origin", "encoding", "body"}``; subscribe a persistent session to it to keep
them. Several hosts could share a topic through a shared subscription (``$share/<group>/<topic>``; not tested here).
The broker tells no lag.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import aiomqtt

from tracardi.bridges._base import Delivery, body_id, envelope
from tracardi.bridges._configs import MqttConfig


class _Pending:
    """A received message waiting for its PUBACK."""

    __slots__ = ("done", "mid", "qos")

    def __init__(self, mid: int, qos: int) -> None:
        self.mid = mid
        self.qos = qos
        self.done = False


class MqttBroker:
    """One MQTT client with one subscription."""

    def __init__(self, config: MqttConfig, *, source_id: str, host: str) -> None:
        self._c = config
        self._client_id = config.client_id or f"tracardi-{source_id}"
        self._dead = config.dead_letter_topic or f"tracardi/dead-letter/{source_id}"
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None
        self._unacked: deque[_Pending] = deque()

    async def connect(self) -> None:
        self._unacked = deque()
        client = aiomqtt.Client(
            self._c.host,
            self._c.port,
            identifier=self._client_id,
            clean_session=False,
            username=self._c.username or None,
            password=self._c.password or None,
            keepalive=self._c.keepalive,
            timeout=10,
        )
        # aiomqtt has no manual-ack switch; paho's is the only way to send PUBACK after the event is stored
        client._client.manual_ack_set(True)
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(client)
        self._client = client
        await client.subscribe(self._c.topic, qos=self._c.qos)

    @property
    def client(self) -> aiomqtt.Client:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client

    async def receive(self, limit: int, wait: float) -> list[Delivery]:
        messages = self.client.messages
        try:
            first = await asyncio.wait_for(anext(messages), wait)
        except TimeoutError:
            return []
        taken = [first]
        while len(taken) < limit and len(messages) > 0:
            taken.append(await anext(messages))
        return [self._delivery(m) for m in taken]

    def _delivery(self, message: aiomqtt.Message) -> Delivery:
        body = bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
        pending = _Pending(message.mid, message.qos)
        self._unacked.append(pending)
        # aiomqtt drops the DUP flag, so any message may be a redelivery: the bridge checks each one
        return Delivery(id=body_id(body), body=body, redelivered=True, handle=pending)

    async def ack(self, delivery: Delivery) -> None:
        delivery.handle.done = True
        paho: Any = self.client._client
        while self._unacked and self._unacked[0].done:
            pending = self._unacked.popleft()
            if pending.qos > 0 and paho.ack(pending.mid, pending.qos) != 0:
                raise ConnectionError("PUBACK could not be sent: the MQTT connection is gone")

    async def dead_letter(self, delivery: Delivery, reason: str) -> None:
        await self.client.publish(self._dead, envelope(delivery.body, reason, self._c.topic), qos=1)
        await self.ack(delivery)

    async def lag(self) -> int | None:
        return None

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):  # leaving a broken connection may raise anything; it is gone
                await stack.aclose()
