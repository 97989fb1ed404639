"""uvicorn's httptools protocol with one send per response instead of two.

uvicorn writes a response's status line and headers with one ``transport.write`` and its body with another, and
uvloop sends each at once: two ``send`` syscalls per response, each paying for the loopback or NIC path. A
small answer such as /track's spends more time in those two calls than in building itself. Here the protocol gets
a transport that keeps what is written during one pass of the event loop and sends it together at the end of
that pass (``call_soon``), so a response written header-then-body leaves in one syscall. Nothing waits longer
than the rest of the current loop pass; ``close`` sends what is kept first, ``abort`` drops it, as it would drop
unsent data anyway.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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


class HttpToolsCoalescing(HttpToolsProtocol):
    """uvicorn's httptools protocol over a CoalescingTransport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
