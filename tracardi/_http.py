"""uvicorn's httptools protocol, with one send per response and POST /track served without the ASGI round.

uvicorn writes a response's status line and headers with one ``transport.write`` and its body with another, and
uvloop sends each at once: two ``send`` syscalls per response, each paying for the loopback or NIC path. A
small answer such as /track's spends more time in those two calls than in building itself. Here the protocol gets
a transport that keeps what is written during one pass of the event loop and sends it together at the end of
that pass (``call_soon``), so a response written header-then-body leaves in one syscall. Nothing waits longer
than the rest of the current loop pass; ``close`` sends what is kept first, ``abort`` drops it, as it would drop
unsent data anyway.

POST /track, the request every page view makes, is served by the protocol itself when it is plain (a
Content-Length within the body limit, no ``Expect: 100-continue``, not pipelined behind an unfinished request):
the body is gathered as it arrives and ``FastTrack.respond`` (the same code the ASGI app runs for it) is called
with a minimal scope once it is whole; the answer is written in one piece. uvicorn's ASGI round (the full scope,
an ``asyncio.Event``, a request-response cycle, receive and send messages, header checks) cost about 20 us of
the 250 us a /track takes. Keep-alive, pipelining, graceful shutdown and disconnects go through uvicorn's own
protocol code, which sees a ``_TrackCycle`` where it expects its cycle. Any other request takes uvicorn's path.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from tracardi.api.fast_track import TRACK_PATH, FastTrack
from tracardi.log import get_logger

log = get_logger("api")
_TRACK = TRACK_PATH.encode()


class CoalescingTransport:
    """A transport proxy that gathers the writes of one loop pass into one ``write`` of the real transport."""

    __slots__ = ("_kept", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._kept:
            self._loop.call_soon(self.flush)
        self._kept.append(data)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what was kept (a no-op when nothing is, or the connection is closing)."""
        kept = self._kept
        if not kept:
            return
        self._kept = []
        if self._transport.is_closing():
            return
        self._transport.write(kept[0] if len(kept) == 1 else b"".join(kept))

    def write_now(self, data: bytes) -> None:
        """Send ``data`` (after anything kept) at once."""
        self._kept.append(data)
        self.flush()

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self._kept)) + self._transport.get_write_buffer_size()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._kept = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # everything else (is_closing, get_extra_info, pause_reading, resume_reading, ...) is the real transport's
        return getattr(self._transport, name)


class _TrackCycle:
    """A POST /track served by the protocol: what uvicorn's protocol code reads and sets on a cycle
    (``body``, ``more_body``, ``message_event.set()``, ``response_complete``, ``keep_alive``, ``disconnected``)."""

    __slots__ = ("body", "disconnected", "keep_alive", "more_body", "proto", "response_complete", "scope", "started")

    def __init__(self, proto: HttpToolsCoalescing, scope: dict[str, Any], keep_alive: bool) -> None:
        self.proto = proto
        self.scope = scope
        self.keep_alive = keep_alive
        self.body = bytearray()
        self.more_body = True
        self.disconnected = False
        self.response_complete = False
        self.started = False

    @property
    def message_event(self) -> _TrackCycle:
        return self  # uvicorn calls ``cycle.message_event.set()`` after each piece of body and on disconnect

    def set(self) -> None:
        proto = self.proto
        if self.disconnected or self.started:
            return
        if self.more_body:
            proto.flow.resume_reading()  # uvicorn pauses past 64 KiB; the body is bounded by its Content-Length
            return
        self.started = True
        task = proto.loop.create_task(self._run())
        task.add_done_callback(proto.tasks.discard)
        proto.tasks.add(task)  # a graceful shutdown waits for it

    async def _receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": bytes(self.body), "more_body": False}

    async def _run(self) -> None:
        proto = self.proto
        try:
            status, headers, body = await proto.fast.respond(self.scope, self._receive)  # type: ignore[union-attr]
        except Exception:  # FastTrack answers every error itself; this is the last resort
            log.exception("track_fast_path_failed")
            status, headers, body = 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"
            headers.append((b"content-length", b"%d" % len(body)))
            self.keep_alive = False
        if self.disconnected:
            return
        out = [STATUS_LINE[status]]
        for name, value in (*proto.server_state.default_headers, *headers):
            out += (name, b": ", value, b"\r\n")
        if not self.keep_alive:
            out.append(b"connection: close\r\n")
        out += (b"\r\n", body)
        proto.out.write_now(b"".join(out))  # one piece already: no need to wait for the loop pass
        self.response_complete = True
        if not self.keep_alive:
            proto.transport.close()
        proto.on_response_complete()


class HttpToolsCoalescing(HttpToolsProtocol):
    """uvicorn's httptools protocol over a CoalescingTransport, serving plain POST /track itself."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        app = self.app
        self.fast = app if isinstance(app, FastTrack) and not self.root_path else None
        self.idle_since: float | None = None
        self.idle_timer: asyncio.TimerHandle | None = None

    # -- keep-alive: one timer per idle stretch, not one per response --------------------------------------------

    def on_response_complete(self) -> None:
        """uvicorn's, but the keep-alive timeout is checked by a timer that lives across responses: arming and
        cancelling one per response cost more than the rest of this method."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self.idle_since = self.loop.time()
        if self.idle_timer is None:
            self.idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check)

    def _unset_keepalive_if_required(self) -> None:
        self.idle_since = None  # data arrived (or the connection is going): not idle

    def _idle_check(self) -> None:
        self.idle_timer = None
        since = self.idle_since
        if since is None or self.transport.is_closing():
            return  # busy: the response that ends this request arms the next check
        left = since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.idle_timer = self.loop.call_later(left, self._idle_check)
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.out = CoalescingTransport(transport, self.loop)
        super().connection_made(self.out)  # type: ignore[arg-type]

    # -- the request's scope, built by uvicorn only for the requests it serves ----------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.scope = None  # type: ignore[assignment]

    def on_headers_complete(self) -> None:
        scope = self._track_scope()
        if scope is None:
            url, headers, expect = self.url, self.headers, self.expect_100_continue
            super().on_message_begin()  # uvicorn's scope (it resets what it collects: put that back)
            self.url, self.expect_100_continue = url, expect
            self.headers.extend(headers)
            super().on_headers_complete()
            return
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        self.cycle = _TrackCycle(self, scope, keep_alive)  # type: ignore[assignment]

    def _track_scope(self) -> dict[str, Any] | None:
        """The scope of a plain POST /track this protocol serves itself, else None (uvicorn's path)."""
        if (
            self.fast is None
            or self.expect_100_continue
            or self.limit_concurrency is not None
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.parser.get_method() != b"POST"
            or self.parser.should_upgrade()
        ):
            return None
        path, _, query = self.url.partition(b"?")
        if path != _TRACK:
            return None
        length = next((value for name, value in self.headers if name == b"content-length"), None)
        state = self.app_state
        if length is None or not length.isdigit() or int(length) > self.fast.body_limit(state):
            return None  # chunked, or too large: the ASGI path streams it and answers 413 before reading it all
        return {
            "type": "http",
            "http_version": self.parser.get_http_version(),
            "method": "POST",
            "path": TRACK_PATH,
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": self.headers,
            "client": self.client,
            "server": self.server,
            "scheme": self.scheme,
            "state": state,
        }
