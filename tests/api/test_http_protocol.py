"""The server's HTTP protocol (uvicorn's httptools protocol sending each response in one write, tracardi._http)
over a raw socket: pipelined requests, Connection: close, HEAD and large answers come back whole and in order."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import Running


async def _exchange(server: Running, raw: bytes, *, until_eof: bool = True, expect: int = 1) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)
        await writer.drain()
        if until_eof:
            return await asyncio.wait_for(reader.read(), 10)
        data = b""
        while len(_split(data)) < expect:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            assert chunk, f"the server closed after {data!r}"
            data += chunk
        return data
    finally:
        writer.close()


def _headers(head: bytes) -> list[tuple[bytes, bytes]]:
    lines = head.split(b"\r\n")[1:]
    return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines)]


def _split(data: bytes) -> list[tuple[bytes, bytes]]:
    """(status line, body) of each whole response at the start of ``data`` (Content-Length or chunked bodies)."""
    out = []
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return out
        headers = dict(_headers(head))
        if b"content-length" in headers:
            length = int(headers[b"content-length"])
            if len(rest) < length:
                return out
            body, data = rest[:length], rest[length:]
        else:  # chunked
            body = b""
            while True:
                size, sep, rest = rest.partition(b"\r\n")
                if not sep or len(rest) < int(size, 16) + 2:
                    return out
                n = int(size, 16)
                body, rest = body + rest[:n], rest[n + 2 :]
                if n == 0:
                    break
            data = rest
        out.append((head.split(b"\r\n")[0], body))


def _track(body: bytes, *, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return (
        b"POST /track HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + connection
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


BODY = json.dumps({"source": {"id": "demo"}, "events": [{"type": "page-view"}]}).encode()


async def test_pipelined_requests_are_answered_whole_and_in_order(server: Running) -> None:
    raw = _track(BODY) + b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + _track(b"{not json")
    answers = _split(await _exchange(server, raw, until_eof=False, expect=3))
    assert [status for status, _ in answers] == [
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 422 Unprocessable Entity",
    ]
    assert json.loads(answers[0][1])["profile"]["id"]
    assert json.loads(answers[1][1]) == {"status": "ok"}
    assert json.loads(answers[2][1])["errors"][0]["loc"] == ["body"]


async def test_connection_close_sends_the_answer_before_closing(server: Running) -> None:
    ((status, body),) = _split(await _exchange(server, _track(BODY, close=True)))
    assert status == b"HTTP/1.1 200 OK" and json.loads(body)["session"]["id"]


async def test_head_answers_headers_only(server: Running) -> None:
    data = await _exchange(server, b"HEAD /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 ") and body == b""


async def test_a_large_answer_arrives_whole(server: Running) -> None:
    data = await _exchange(server, b"GET /openapi.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    ((status, body),) = _split(data)
    assert status == b"HTTP/1.1 200 OK" and len(body) > 10_000
    assert json.loads(body)["openapi"].startswith("3.")


async def test_pipelined_tracks_are_each_answered(server: Running) -> None:
    """A /track sent behind an unfinished /track (served by the protocol itself) waits its turn."""
    answers = _split(await _exchange(server, _track(BODY) * 3, until_eof=False, expect=3))
    assert [status for status, _ in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert len({json.loads(body)["profile"]["id"] for _, body in answers}) == 3


async def test_chunked_track_is_served(server: Running) -> None:
    """A body without Content-Length (chunked) takes the ASGI path and is tracked the same."""
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    raw = b"POST /track HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked
    ((status, body),) = _split(await _exchange(server, raw))
    assert status == b"HTTP/1.1 200 OK" and json.loads(body)["profile"]["id"]


async def test_http_1_0_track_is_answered_and_closed(server: Running) -> None:
    raw = b"POST /track HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
    data = await _exchange(server, raw)  # until the server closes
    ((status, body),) = _split(data)
    assert status.endswith(b"200 OK") and json.loads(body)["session"]["id"]


async def test_a_declared_oversized_body_gets_413_before_it_is_sent(server: Running) -> None:
    limit = server.services.settings.api.max_body_bytes
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(b"POST /track HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n{" % (limit + 1))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 413 ")
    finally:
        writer.close()


async def test_a_client_gone_mid_body_leaves_the_server_serving(server: Running) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /track HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY[:10])
    await writer.drain()
    writer.close()
    await asyncio.sleep(0.05)
    r = await server.track({"source": {"id": "demo"}, "events": [{"type": "page-view"}]})
    assert r.status_code == 200


async def test_keep_alive_closes_idle_connections_and_keeps_busy_ones(server: Running) -> None:
    """uvicorn's keep-alive timeout (5 s) with the protocol's one timer per idle stretch: an idle connection is
    closed about 5 s after its last answer; one that sends a request every 3.5 s is answered each time."""
    host, port = server.url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()

    async def request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_track(BODY))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = next(int(v) for k, v in _headers(head) if k == b"content-length")
        await reader.readexactly(length)

    async def idle() -> float:
        reader, writer = await asyncio.open_connection(host, int(port))
        await request(reader, writer)
        answered = loop.time()
        assert await asyncio.wait_for(reader.read(1), 15) == b"", "the server closes an idle connection"
        writer.close()
        return loop.time() - answered

    async def busy() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for _ in range(3):
            await request(reader, writer)
            await asyncio.sleep(3.5)
        await request(reader, writer)  # 10.5 s after the first answer: still open
        writer.close()

    closed_after, _ = await asyncio.gather(idle(), busy())
    assert 4.5 <= closed_after <= 8
