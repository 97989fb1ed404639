"""The AsyncOpenSearch client built from the options, and the retrying call every request goes through."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from tracardi.storage.errors import StorageError, Unavailable
from tracardi.storage.opensearch._options import OpenSearchOptions

R = TypeVar("R")
_RETRY_STATUS = frozenset({429, 502, 503, 504})
_MAX_BACKOFF = 5.0


def make_client(options: OpenSearchOptions) -> AsyncOpenSearch:
    """An async client for the configured hosts, TLS and credentials; retries are ours (see ``call``)."""
    kwargs: dict[str, Any] = {
        "hosts": [host.strip() for host in options.hosts.split(",") if host.strip()],
        "timeout": options.timeout,
        "max_retries": 0,
        "verify_certs": options.verify_certs,
        "ssl_show_warn": options.verify_certs,
    }
    if options.ca_certs:
        kwargs["ca_certs"] = options.ca_certs
    if options.username:
        kwargs["http_auth"] = (options.username, options.password.reveal())
    if options.api_key:
        kwargs["headers"] = {"authorization": f"ApiKey {options.api_key.reveal()}"}
    return AsyncOpenSearch(**kwargs)


async def call(request: Callable[[], Awaitable[R]], *, retries: int, backoff: float) -> R:
    """Run one request; back off and retry on 429/5xx-unavailable and connection errors, then map the error."""
    attempt = 0
    while True:
        try:
            return await request()
        except OSConnectionError as exc:  # includes timeouts
            if attempt >= retries:
                raise Unavailable(f"opensearch unreachable: {exc}") from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if status not in _RETRY_STATUS:
                raise StorageError(f"opensearch error {status}: {exc.error} {_reason(exc)}") from exc
            if attempt >= retries:
                raise Unavailable(f"opensearch busy ({status}) after {retries} retries") from exc
        await asyncio.sleep(min(backoff * 2**attempt, _MAX_BACKOFF))
        attempt += 1


def _reason(exc: TransportError) -> str:
    info = exc.info
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return str(error.get("reason", ""))
    return ""
