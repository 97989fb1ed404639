"""Webhook call: an HTTP request out of a flow, with its answer on the payload.

The request goes through the process's shared ``httpx.AsyncClient`` (``ctx.deps.http``, built once by the composition
root), never a client per call. Each attempt is bounded by ``timeout`` as a whole (connect, send and read); a
timeout, a network error, a 5xx or a 429 is retried up to ``retries`` times, waiting ``backoff`` seconds, then
twice that, and so on. All of it counts against the flow's ``workflows.max_seconds``, so keep
``timeout * (retries + 1)`` plus the waits below it. A flow re-run by a retried tracking attempt (a concurrent
write) does not call again: it goes on with the first attempt's answer (``FlowContext.effects``). A dry run does call.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any, ClassVar, Literal

import httpx
import msgspec

from tracardi.domain.template import render
from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, Result, parse_ref
from tracardi.engine.workflow.actions._common import fill, required

MAX_URL = 2048
MAX_HEADERS = 50
MAX_BACKOFF = 5.0
_json = msgspec.json.Encoder()
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, TimeoutError)


class WebhookConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    """The endpoint, a template: ``https://api.example.com/users/{{ profile@id }}``."""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    """The HTTP method."""
    headers: dict[str, str] = {}
    """Request headers; values are templates (``Bearer {{ memory@token }}``)."""
    body: Any = None
    """A JSON body template: string leaves are templates, a leaf that is one placeholder takes the value."""
    source: str | None = None
    """Instead of ``body``: a reference whose value is sent as the JSON body (e.g. ``payload@``)."""
    text: str | None = None
    """Instead of ``body``: a text body template, sent with ``content_type``."""
    content_type: str = "text/plain; charset=utf-8"
    """The content type of a ``text`` body."""
    timeout: float = 2.0
    """Seconds per attempt, all of it (0.01 to 30)."""
    retries: int = 0
    """Further attempts after a timeout, a network error, a 5xx or a 429 (0 to 5)."""
    backoff: float = 0.1
    """Seconds before the first retry, doubled for each next one (0 to 5)."""
    max_response: int = 65_536
    """Bytes of the answer kept (up to 1 MiB); a longer one is cut and marked ``truncated``."""

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")) or len(self.url) > MAX_URL:
            raise ValueError(f"an http:// or https:// url of at most {MAX_URL} characters")
        if sum(x is not None for x in (self.body, self.source, self.text)) > 1:
            raise ValueError("give at most one of body, source and text")
        if self.source is not None:
            parse_ref(self.source)
        if len(self.headers) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} headers")
        if not 0.01 <= self.timeout <= 30:
            raise ValueError("timeout must be from 0.01 to 30 seconds")
        if not 0 <= self.retries <= 5:
            raise ValueError("retries must be from 0 to 5")
        if not 0 <= self.backoff <= MAX_BACKOFF:
            raise ValueError(f"backoff must be from 0 to {MAX_BACKOFF:g} seconds")
        if not 1 <= self.max_response <= 1_048_576:
            raise ValueError("max_response must be from 1 byte to 1 MiB")


class _Answer(msgspec.Struct):
    status: int
    body: Any
    truncated: bool = False


class Webhook(Action[WebhookConfig]):
    """Call an HTTP endpoint. A 2xx answer fires ``response`` with ``{"status", "body", "truncated"}`` (a JSON
    answer decoded, else text). Any other status, after the retries, fires ``error`` with ``{"message", "node",
    "status", "body"}``; a timeout or network error after the retries, or an invalid rendered url, fires ``error``
    with ``{"message", "node"}``."""

    id = "webhook"
    name = "Webhook call"
    config_type = WebhookConfig
    outputs: ClassVar[tuple[str, ...]] = ("response", "error")

    def __init__(self, config: WebhookConfig) -> None:
        super().__init__(config)
        self._source = parse_ref(config.source) if config.source is not None else None

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        client = ctx.deps.http
        if client is None:
            raise ActionError("this process has no HTTP client for webhooks")
        key = ctx.effect_key()
        done: Result | None = ctx.effects.get(key)
        if done is not None:  # a retried attempt of the tracking call: the endpoint already got this call
            return Result(done.port, copy.deepcopy(done.value))
        request = self._request(client, ctx)
        answer = await self._send(client, request)
        if 200 <= answer.status < 300:
            fired = Result("response", msgspec.to_builtins(answer))
        else:
            message = f"{request.method} {request.url.host} answered {answer.status}"
            fired = Result("error", {"message": message, "node": ctx.node_id, **msgspec.to_builtins(answer)})
        ctx.effects[key] = Result(fired.port, copy.deepcopy(fired.value))
        return fired

    def _request(self, client: httpx.AsyncClient, ctx: FlowContext) -> httpx.Request:
        c = self.config
        url = render(c.url, ctx.scope)
        if not url.startswith(("http://", "https://")) or len(url) > MAX_URL:
            raise ActionError(f"the rendered url is not an http(s) url: {url[:200]!r}")
        headers = {k: render(v, ctx.scope) for k, v in c.headers.items()}
        content: bytes | None = None
        try:
            if c.text is not None:
                content = render(c.text, ctx.scope).encode()
                headers.setdefault("content-type", c.content_type)
            elif self._source is not None or c.body is not None:
                value = required(ctx, self._source) if self._source is not None else fill(c.body, ctx.scope)
                content = _json.encode(value)  # msgspec: profile parts (Structs, datetimes) encode as stored
                headers.setdefault("content-type", "application/json")
            return client.build_request(c.method, url, headers=headers, content=content)
        except (httpx.InvalidURL, httpx.HTTPError, TypeError, ValueError) as exc:
            raise ActionError(f"cannot build the request: {exc}") from exc

    async def _send(self, client: httpx.AsyncClient, request: httpx.Request) -> _Answer:
        c = self.config
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(c.timeout):
                    answer = await self._attempt(client, request)
                if attempt == c.retries or answer.status not in _RETRY_STATUS:
                    return answer
            except _RETRY_ERRORS as exc:
                if attempt == c.retries:
                    raise ActionError(f"{request.method} {request.url.host} failed: {type(exc).__name__}") from exc
            except httpx.HTTPError as exc:
                raise ActionError(f"{request.method} {request.url.host} failed: {exc}") from exc
            await asyncio.sleep(min(c.backoff * 2**attempt, MAX_BACKOFF))
            attempt += 1

    async def _attempt(self, client: httpx.AsyncClient, request: httpx.Request) -> _Answer:
        limit = self.config.max_response
        response = await client.send(request, stream=True)
        try:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
        finally:
            await response.aclose()
        raw = b"".join(chunks)
        truncated = len(raw) > limit
        return _Answer(response.status_code, _decode(raw[:limit], response, truncated), truncated)


def _decode(raw: bytes, response: httpx.Response, truncated: bool) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if truncated or "json" not in response.headers.get("content-type", ""):
        return text
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return text
