"""Another cluster's index as an import source: its documents in ``_id`` order, page by page (``search_after``).

The checkpoint keeps the last ``_id`` read and how many documents came before, so a resumed import asks for the
documents after it. A row is the document's ``_source`` with ``_id`` (and ``_index``) added. Works with
OpenSearch and with Elasticsearch 7 (an old Tracardi's store), whose search API is the same for this.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from opensearchpy.exceptions import TransportError

from tracardi.domain.imports import Checkpoint, IndexSource
from tracardi.secret import Secret
from tracardi.storage.errors import StorageError
from tracardi.storage.opensearch._client import call, make_client
from tracardi.storage.opensearch._options import OpenSearchOptions
from tracardi.storage.rows import Row, RowBatch, UnreadableSource

_REFUSED = frozenset({400, 401, 403, 404})


class IndexRows:
    """Documents of ``source.index`` on ``source.url`` matching ``source.query``."""

    def __init__(self, source: IndexSource, *, timeout: float = 10.0) -> None:
        self._source = source
        options = OpenSearchOptions(
            hosts=source.url,
            username=source.username,
            password=Secret(source.password),
            api_key=Secret(source.api_key),
            verify_certs=source.verify_certs,
            timeout=timeout,
        )
        self._client = make_client(options)
        self._query: dict[str, Any] = source.query or {"match_all": {}}

    async def _call(self, what: str, request: Any, *, retries: int = 3) -> Any:
        try:
            return await call(request, retries=retries, backoff=0.2)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, TransportError) and cause.status_code in _REFUSED:
                raise UnreadableSource(f"{what} of index `{self._source.index}` refused: {exc}") from exc
            raise

    async def size(self) -> int:
        index, body = self._source.index, {"query": self._query}
        # asked once when an import starts (an admin waits for the answer): no retries
        answer = await self._call("count", lambda: self._client.count(index=index, body=body), retries=0)
        return int(answer["count"])

    async def batches(self, start: Checkpoint, size: int) -> AsyncIterator[RowBatch]:
        line, read, after = start.line, start.offset, start.after
        while True:
            body: dict[str, Any] = {"query": self._query, "sort": [{"_id": "asc"}], "size": size}
            if after:
                body["search_after"] = [after]
            answer = await self._call("search", lambda b=body: self._client.search(index=self._source.index, body=b))
            hits: list[dict[str, Any]] = answer["hits"]["hits"]
            if not hits:
                return
            rows = []
            for hit in hits:
                line += 1
                rows.append(Row(line, {**(hit.get("_source") or {}), "_id": hit["_id"], "_index": hit["_index"]}))
            read += len(hits)
            after = str(hits[-1]["_id"])
            yield RowBatch(rows, Checkpoint(line=line, offset=read, after=after))
            if len(hits) < size:
                return

    async def close(self) -> None:
        await self._client.close()
