"""The ``bridges`` role: one Bridge per enabled event source whose type names a bridge kind.

The supervisor looks at the sources at start and every ``rescan`` seconds: a new bridge source starts, a changed
one (type, config, enabled) restarts, a removed or disabled one stops. A source with a bad config is logged once
with the field at fault and does not start; the others run on.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import msgspec

from tracardi.bridges._base import BridgeConfigError
from tracardi.bridges._bridge import Bridge, BridgeDeps, BridgesOptions
from tracardi.bridges._kinds import build_broker, kind_of
from tracardi.domain.source import EventSource
from tracardi.log import get_logger
from tracardi.storage import StorageError

log = get_logger("bridges")


@dataclass(slots=True)
class _Running:
    fingerprint: bytes
    bridge: Bridge
    stop: asyncio.Event
    task: asyncio.Task[None]


def _fingerprint(source: EventSource) -> bytes:
    return msgspec.json.encode([source.type, source.config, source.enabled])


class Supervisor:
    """Starts, restarts and stops the bridges of the configured sources."""

    def __init__(self, deps: BridgeDeps, options: BridgesOptions) -> None:
        self._deps = deps
        self._options = options
        self.running: dict[str, _Running] = {}
        self._refused: dict[str, bytes] = {}  # sources whose config was refused, until it changes

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile until ``stop``, then stop every bridge (each drains its messages in flight)."""
        log.info("role_started", role="bridges")
        try:
            while not stop.is_set():
                await self.reconcile()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._options.rescan)
        except asyncio.CancelledError:
            # cancelled, not stopped: abort the bridges (their messages in flight are delivered again)
            for r in self.running.values():
                r.task.cancel()
            raise
        finally:
            await self._stop_all(list(self.running))
            log.info("role_stopped", role="bridges")

    async def reconcile(self) -> None:
        """Make the running bridges match the sources."""
        try:
            wanted = await self._wanted()
        except StorageError as exc:
            log.warning("bridges_rescan_failed", error=str(exc))
            return
        stale = [
            sid
            for sid, r in self.running.items()
            if r.task.done() or sid not in wanted or _fingerprint(wanted[sid][0]) != r.fingerprint
        ]
        await self._stop_all(stale)
        for sid, (source, kind) in wanted.items():
            if sid not in self.running:
                self._start(source, kind)

    async def _wanted(self) -> dict[str, tuple[EventSource, str]]:
        found: dict[str, tuple[EventSource, str]] = {}
        after: str | None = None
        while True:
            page = await self._deps.sources.list(limit=100, after=after)
            for item in page.items:
                kind = kind_of(item.doc.type)
                if kind is not None and item.doc.enabled:
                    found[item.doc.id] = (item.doc, kind)
            if page.next is None:
                return found
            after = page.next

    def _start(self, source: EventSource, kind: str) -> None:
        fingerprint = _fingerprint(source)
        if self._refused.get(source.id) == fingerprint:
            return
        try:
            broker, config = build_broker(kind, source.id, source.config)
        except BridgeConfigError as exc:
            self._refused[source.id] = fingerprint
            log.error("bridge_not_started", source_id=source.id, kind=kind, error=str(exc))
            return
        self._refused.pop(source.id, None)
        bridge = Bridge(source.id, kind, broker, config, self._deps, self._options)
        stop = asyncio.Event()
        task = asyncio.create_task(bridge.run(stop), name=f"bridge:{source.id}")
        self.running[source.id] = _Running(fingerprint, bridge, stop, task)
        log.info("bridge_started", source_id=source.id, kind=kind)

    async def _stop_all(self, source_ids: list[str]) -> None:
        stopping = [self.running.pop(sid) for sid in source_ids]
        for r in stopping:
            r.stop.set()
        tasks = {r.task for r in stopping}
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self._options.drain_timeout + self._options.poll + 1)
        for task in pending:
            task.cancel("bridge did not stop in time")
        if pending:
            await asyncio.wait(pending)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("bridge_crashed", task=task.get_name(), error=repr(task.exception()))
        for r in stopping:
            log.info("bridge_stopped", source_id=r.bridge.source_id, kind=r.bridge.kind)


async def run_bridges(deps: BridgeDeps, options: BridgesOptions, stop: asyncio.Event) -> None:
    """Run the bridges of every configured source until ``stop``."""
    await Supervisor(deps, options).run(stop)
