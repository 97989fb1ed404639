"""The loop of one bridge: receive, decode, track, then acknowledge; dead-letter what can never be tracked.

A message is acknowledged only after ``Tracker.track`` returned, i.e. after its events are durably stored. A
message that cannot be decoded or that the tracker refuses goes to the broker's dead-letter destination with the
reason and the next one goes on. Storage being unavailable is not the message's fault: the message stays in flight
and is retried with backoff, so a full set of such messages stops consumption until storage is back. A broker
error of any kind ends the connection; the loop reconnects with exponential backoff. On stop, no new message is
taken and the ones in flight finish (bounded by ``drain_timeout``); what is cut off is delivered again later, and
the event ids derived from the message id make that redelivery idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import msgspec

from tracardi.bridges._base import BridgeConfig, Broker, Delivery
from tracardi.bridges._decode import InvalidMessage, MessageDecoder
from tracardi.domain.errors import DomainError, InvalidInput, SourceRejected
from tracardi.domain.payload import TrackerPayload
from tracardi.engine import SourceService, Tracker
from tracardi.log import get_logger
from tracardi.metrics import Metrics
from tracardi.storage import EVENTS, DocumentStore, Unavailable

log = get_logger("bridges")


class BridgesOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the bridges role (section ``[bridges]``); each bridge's own settings are its source's config."""

    rescan: float = 10.0
    """Seconds between looks at the event sources: new bridge sources start, changed ones restart."""
    poll: float = 1.0
    """Longest wait for a message before the loop looks at the stop signal again."""
    drain_timeout: float = 10.0
    """Seconds the messages in flight get to finish on stop."""
    backoff_min: float = 0.1
    """Seconds before the first reconnect (or storage retry); doubled each time."""
    backoff_max: float = 30.0
    """Longest wait between reconnects."""
    lag_interval: float = 5.0
    """Seconds between lag readings (where the broker tells it)."""


@dataclass(slots=True)
class BridgeDeps:
    """What bridges use, built by the composition root."""

    tracker: Tracker
    sources: SourceService
    store: DocumentStore
    metrics: Metrics


class _SourceGone(Exception):
    """The tracker refused the source itself (deleted or disabled): this bridge stops."""


class _Stopped(Exception):
    """Stop was asked while a message waited for storage: it stays unacknowledged."""


def backoff(failures: int, options: BridgesOptions) -> float:
    """Wait before attempt ``failures + 1``: exponential from ``backoff_min``, capped at ``backoff_max``."""
    return float(min(options.backoff_max, options.backoff_min * 2 ** min(failures, 32)))


def _reason(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput) and exc.errors:
        fields = "; ".join(".".join(str(p) for p in e.loc[1:]) + f": {e.msg}" for e in exc.errors)
        return f"{exc.detail} ({fields})"
    return exc.detail


class Bridge:
    """Feeds one event source from one broker queue."""

    def __init__(
        self,
        source_id: str,
        kind: str,
        broker: Broker,
        config: BridgeConfig,
        deps: BridgeDeps,
        options: BridgesOptions | None = None,
    ) -> None:
        self.source_id = source_id
        self.kind = kind
        self._broker = broker
        self._config = config
        self._deps = deps
        self._options = options or BridgesOptions()
        self._decoder = MessageDecoder(source_id, config)
        self._tasks: set[asyncio.Task[None]] = set()
        # receive when a quarter of the slots is free, not for every single one: fewer broker round trips
        self._batch = max(1, config.concurrency // 4)
        self._room = asyncio.Event()
        self._stop = asyncio.Event()
        self._fault: BaseException | None = None
        self._reached = False  # whether the current session connected (resets the reconnect backoff)
        m, labels = deps.metrics, (source_id, kind)
        self._consumed = m.bridge_consumed.labels(*labels)
        self._failed = m.bridge_failed.labels(*labels)
        self._duplicates = m.bridge_duplicates.labels(*labels)
        self._lag = m.bridge_lag.labels(*labels)
        self._connected = m.bridge_connected.labels(*labels)
        self._reconnects = m.bridge_reconnects.labels(*labels)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` (or until the tracker refuses the source), reconnecting with backoff."""
        self._stop = stop
        failures = 0
        while not stop.is_set():
            self._reached = False
            try:
                await self._session(stop)
            except _SourceGone as exc:
                log.warning("bridge_source_refused", source_id=self.source_id, kind=self.kind, reason=str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - a broker session is a boundary: log it, then reconnect
                log.warning("bridge_disconnected", source_id=self.source_id, kind=self.kind, error=repr(exc))
            if stop.is_set():
                break
            if self._reached:
                failures = 0  # the broker was there: start the backoff over
            pause = backoff(failures, self._options)
            failures += 1
            self._reconnects.inc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def _session(self, stop: asyncio.Event) -> None:
        """One connection: consume until stop or a fault, then drain and close."""
        self._fault = None
        lag: asyncio.Task[None] | None = None
        try:
            await self._broker.connect()
            self._reached = True
            self._connected.set(1)
            log.info("bridge_connected", source_id=self.source_id, kind=self.kind)
            lag = asyncio.create_task(self._watch_lag(stop), name=f"bridge-lag:{self.source_id}")
            await self._consume(stop)
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel("bridge cancelled: the message is delivered again")
            raise
        finally:
            if lag is not None:
                lag.cancel()
            await self._drain()
            self._connected.set(0)
            await self._broker.close()

    async def _consume(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self._fault is not None:
                raise self._fault
            free = self._config.concurrency - len(self._tasks)
            if free < self._batch:
                await self._wait_for_room(stop)
                continue
            for delivery in await self._broker.receive(free, self._options.poll):
                task = asyncio.create_task(self._handle(delivery), name=f"bridge:{self.source_id}:{delivery.id}")
                self._tasks.add(task)
                task.add_done_callback(self._done)
        if self._fault is not None:
            raise self._fault

    async def _wait_for_room(self, stop: asyncio.Event) -> None:
        self._room.clear()
        waiting = asyncio.ensure_future(self._room.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._room.set()

    async def _drain(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._options.drain_timeout)
        for task in pending:
            task.cancel("drain timeout: the message is delivered again")
        if pending:
            await asyncio.wait(pending)

    async def _handle(self, delivery: Delivery) -> None:
        """One message; a broker error is kept as the session's fault (the loop reconnects)."""
        try:
            await self._process(delivery)
        except (_SourceGone, _Stopped) as exc:
            if isinstance(exc, _SourceGone) and self._fault is None:
                self._fault = exc
        except Exception as exc:  # noqa: BLE001 - ack/dead-letter failed: the connection is gone, reconnect
            if self._fault is None:
                self._fault = exc
        self._room.set()

    async def _process(self, delivery: Delivery) -> None:
        if delivery.problem:
            await self._dead_letter(delivery, delivery.problem)
            return
        try:
            _, payload = self._decoder.decode(delivery)
        except InvalidMessage as exc:
            await self._dead_letter(delivery, str(exc))
            return
        try:
            tracked = await self._track(payload, delivery.redelivered)
        except SourceRejected as exc:
            raise _SourceGone(exc.detail) from exc
        except DomainError as exc:
            await self._dead_letter(delivery, _reason(exc))
            return
        except _Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - a message is a boundary: log, dead-letter, go on with the next
            log.error("bridge_track_failed", source_id=self.source_id, message_id=delivery.id, error=repr(exc))
            await self._dead_letter(delivery, f"{type(exc).__name__}: {exc}")
            return
        await self._broker.ack(delivery)
        (self._consumed if tracked else self._duplicates).inc()

    async def _track(self, payload: TrackerPayload, redelivered: bool) -> bool:
        """Track unless a redelivered message is already stored (False then); retry while storage is down."""
        failures = 0
        while True:
            try:
                if redelivered and payload.events and await self._stored(payload):
                    return False
                await self._deps.tracker.track(payload, endpoint=self.kind, profile_less=payload.profile_less)
                return True
            except Unavailable as exc:
                if self._stop.is_set():
                    raise _Stopped from exc
                pause = backoff(failures, self._options)
                failures += 1
                log.warning("bridge_storage_unavailable", source_id=self.source_id, error=str(exc), retry_in=pause)
                await asyncio.sleep(pause)

    async def _stored(self, payload: TrackerPayload) -> bool:
        first = payload.events[0].id or ""
        return await self._deps.store.get(EVENTS, first.strip().lower()) is not None

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        await self._broker.dead_letter(delivery, reason[:2000])
        self._failed.inc()
        log.warning("bridge_dead_letter", source_id=self.source_id, message_id=delivery.id, reason=reason[:200])

    async def _watch_lag(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                lag = await self._broker.lag()
            except Exception as exc:  # noqa: BLE001 - a lag reading is best effort; receive reports a real outage
                log.debug("bridge_lag_failed", source_id=self.source_id, error=repr(exc))
                lag = None
            if lag is not None:
                self._lag.set(lag)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._options.lag_interval)
