"""One harness per broker kind: publish raw messages and read the dead letters with the broker's own client.

The contract tests (``test_contract.py``) run the same scenarios over every harness whose broker answers here.
Every harness works on names unique to its test, so parallel runs on the shared servers do not collide.
"""

from __future__ import annotations

import asyncio
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

    async def prepare(self) -> None:
        """Set up what must exist before the bridge starts (e.g. a dead-letter subscriber)."""

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


class RabbitMqHarness(Harness):
    kind = "rabbitmq"
    extra = "aio_pika"
    address = ("127.0.0.1", 5672)
    url = "amqp://guest:guest@127.0.0.1:5672/"

    def __init__(self) -> None:
        super().__init__()
        self._conn: Any = None
        self._dead: list[DeadLetter] = []

    async def _channel(self) -> Any:
        import aio_pika

        if self._conn is None:
            self._conn = await aio_pika.connect(self.url)
            self.channel = await self._conn.channel(publisher_confirms=False)
        return self.channel

    def config(self) -> dict[str, Any]:
        return {"url": self.url, "queue": self.name}

    async def publish(self, bodies: list[bytes]) -> None:
        import aio_pika

        channel = await self._channel()
        await channel.declare_queue(self.name, durable=True)
        for body in bodies:
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=self.name)

    async def dead_letters(self) -> list[DeadLetter]:
        channel = await self._channel()
        queue = await channel.declare_queue(f"{self.name}.dead", durable=True)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            self._dead.append((message.headers["x-tracardi-reason"], message.body))
        return list(self._dead)

    async def close(self) -> None:
        if self._conn is None:
            await self._channel()
        for name in (self.name, f"{self.name}.dead"):
            await self.channel.queue_delete(name)
        await self._conn.close()


class MqttHarness(Harness):
    kind = "mqtt"
    extra = "aiomqtt"
    address = ("127.0.0.1", 1883)

    def __init__(self) -> None:
        super().__init__()
        self.topic = f"tracardi-test/{self.name}"
        self._stack = contextlib.AsyncExitStack()
        self._dead: list[DeadLetter] = []
        self._reader: asyncio.Task[None] | None = None

    def config(self) -> dict[str, Any]:
        return {"topic": self.topic, "client_id": self.name, "dead_letter_topic": f"{self.topic}/dead"}

    async def prepare(self) -> None:
        import aiomqtt

        self.client = await self._stack.enter_async_context(aiomqtt.Client("127.0.0.1", 1883))
        self.client.pending_calls_threshold = 100  # we publish 20 at once on purpose
        await self.client.subscribe(f"{self.topic}/dead", qos=1)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            self._dead.append(unwrap(message.payload))

    async def publish(self, bodies: list[bytes]) -> None:
        for i in range(0, len(bodies), 20):
            await asyncio.gather(*(self.client.publish(self.topic, b, qos=1) for b in bodies[i : i + 20]))

    async def dead_letters(self) -> list[DeadLetter]:
        return list(self._dead)

    async def close(self) -> None:
        import aiomqtt

        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self._stack.aclose()
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=self.name, clean_session=True):
            pass  # a clean session under the bridge's id drops the persistent one


class NatsHarness(Harness):
    kind = "nats"
    extra = "nats"
    address = ("127.0.0.1", 4222)

    def __init__(self) -> None:
        super().__init__()
        self.stream = self.name.replace("-", "_").upper()
        self.subject = f"tracardi-test.{self.name}"

    def config(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "subject": self.subject,
            "dead_letter_subject": f"{self.subject}-dead",
            "dead_letter_stream": f"{self.stream}_DEAD",
            "ack_wait": 2.0,  # what a crashed bridge took comes back within the test's patience
        }

    async def prepare(self) -> None:
        import nats

        self.nc = await nats.connect("nats://127.0.0.1:4222")
        self.js = self.nc.jetstream()
        await self.js.add_stream(name=self.stream, subjects=[self.subject])

    async def publish(self, bodies: list[bytes]) -> None:
        for i in range(0, len(bodies), 50):
            await asyncio.gather(*(self.js.publish(self.subject, b) for b in bodies[i : i + 50]))

    async def dead_letters(self) -> list[DeadLetter]:
        from nats.js.errors import NotFoundError

        out = []
        try:
            info = await self.js.stream_info(f"{self.stream}_DEAD")
        except NotFoundError:
            return []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if info.state.messages == 0:
                break
            msg = await self.js.get_msg(f"{self.stream}_DEAD", seq)
            out.append(((msg.headers or {})["Tracardi-Reason"], msg.data or b""))
        return out

    async def close(self) -> None:
        from nats.js.errors import NotFoundError

        for stream in (self.stream, f"{self.stream}_DEAD"):
            with contextlib.suppress(NotFoundError):
                await self.js.delete_stream(stream)
        await self.nc.close()


KAFKA = os.environ.get("TRACARDI_TEST_KAFKA", "127.0.0.1:9092")  # host:port of a Kafka broker, when there is one


class KafkaHarness(Harness):
    kind = "kafka"
    extra = "aiokafka"
    address = (KAFKA.rsplit(":", 1)[0], int(KAFKA.rsplit(":", 1)[1]))

    def config(self) -> dict[str, Any]:
        return {"topic": self.name, "bootstrap_servers": KAFKA}

    async def publish(self, bodies: list[bytes]) -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=KAFKA)
        await producer.start()
        try:
            for body in bodies:
                await producer.send(self.name, body)
            await producer.flush()
        finally:
            await producer.stop()

    async def dead_letters(self) -> list[DeadLetter]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(f"{self.name}.dead", bootstrap_servers=KAFKA, auto_offset_reset="earliest")
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=500)
        finally:
            await consumer.stop()
        return [
            (dict(r.headers)["x-tracardi-reason"].decode(), r.value or b"")
            for records in batches.values()
            for r in records
        ]


HARNESSES: list[type[Harness]] = [
    RedisListHarness,
    RedisStreamHarness,
    RabbitMqHarness,
    MqttHarness,
    NatsHarness,
    KafkaHarness,
]


@contextlib.asynccontextmanager
async def opened(cls: type[Harness]) -> Any:
    harness = cls()
    try:
        yield harness
    finally:
        await harness.close()
