"""Reading a request body under a size limit: 413 before reading it all."""

from __future__ import annotations

from starlette.requests import Request

from tracardi.api.errors import BodyTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body; raises BodyTooLarge from Content-Length alone, or as soon as streaming passes the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
