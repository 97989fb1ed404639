"""Reading a request body under a size limit (413 before reading it all), and decoding it (422 naming the field)."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from starlette.requests import Request
from starlette.types import Message, Receive

from tracardi.api.errors import BodyTooLarge, InvalidBody
from tracardi.domain.errors import InvalidInput

T = TypeVar("T")


async def read_json(request: Request, decoder: msgspec.json.Decoder[T], limit: int) -> T:
    """The body decoded by ``decoder``; raises BodyTooLarge over ``limit``, InvalidBody when it does not decode."""
    body = await read_body(request, limit)
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidBody(exc) from exc


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body of a Starlette request (see receive_body)."""
    return await receive_body(request.receive, request.headers.get("content-length"), limit)


async def receive_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The whole body; raises BodyTooLarge from Content-Length alone, or as soon as streaming passes the limit."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            raise InvalidInput("The client went away before sending the whole body.")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
