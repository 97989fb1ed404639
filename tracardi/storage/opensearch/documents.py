"""The OpenSearch adapter of the documents port, for many API and worker hosts sharing one cluster.

Reads by id are realtime gets (no refresh needed); writes go through ``_bulk`` with the refresh policy of the call
(default from the options: ``false``, so a /track write never waits for a refresh). Optimistic concurrency uses
``if_seq_no``/``if_primary_term`` (see ``_versions``); queries compile to the DSL over the fixed ``_q`` mapping
(see ``_encode`` and ``_query``); names, aliases and partitions are in ``_indices``. No script runs anywhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec
from opensearchpy import AsyncOpenSearch

from tracardi.domain.query import Condition, Sort
from tracardi.storage.aggregations import Interval, TermBucket, TimeBucket, check_size, spans
from tracardi.storage.errors import InvalidQuery, NotFound, StorageError, Unavailable
from tracardi.storage.opensearch import _aggregate as aggregate
from tracardi.storage.opensearch import _writes as writes
from tracardi.storage.opensearch._client import call, make_client
from tracardi.storage.opensearch._indices import IndexNames, index_body, template_body
from tracardi.storage.opensearch._options import OpenSearchOptions, Refresh
from tracardi.storage.opensearch._query import SortPlan, compile_where
from tracardi.storage.opensearch._versions import Seen, VersionMap, seen_from
from tracardi.storage.ports import Delete, Index, Page, Put, Versioned, WriteOp, WriteResult

T = TypeVar("T")
R = TypeVar("R")
EVENT_TIME = {"event": "metadata.time.insert"}
_NO_SOURCE = ["_q"]
_PARTITION_TTL = 30.0  # seconds before the list of partitions is read again (other hosts add months)
_MAX_LIMIT = 10_000


class OpenSearchDocumentStore:
    """Profiles, sessions, events and configuration in OpenSearch indices behind aliases."""

    def __init__(
        self,
        options: OpenSearchOptions,
        indices: Iterable[Index[Any]],
        *,
        client: AsyncOpenSearch | None = None,
        time_fields: Mapping[str, str] | None = None,
        version_map_size: int = 100_000,
    ) -> None:
        if time_fields is None:
            time_fields = EVENT_TIME if options.event_partition == "monthly" else {}
        self._options = options
        self._client = client or make_client(options)
        self._names = {i.name: IndexNames(i, options.prefix, time_fields.get(i.name)) for i in indices}
        for names in self._names.values():
            names.sortable = None if options.sortable == "any" else frozenset(names.index.fields)
        self._partitions: dict[str, tuple[float, set[str]]] = {}
        self._partition_lock = asyncio.Lock()
        self._versions = VersionMap(version_map_size)
        self._closed = False

    # -- plumbing -----------------------------------------------------------------------------------------------

    async def _call(self, request: Callable[[], Awaitable[R]]) -> R:
        if self._closed:
            raise Unavailable("the document store is closed")
        return await call(request, retries=self._options.max_retries, backoff=self._options.retry_backoff)

    def _of(self, index: Index[Any]) -> IndexNames:
        try:
            return self._names[index.name]
        except KeyError:
            raise StorageError(f"index {index.name!r} is not served by this store") from None

    def _refresh(self, refresh: Refresh | None) -> str:
        return refresh or self._options.refresh

    def _decode(self, index: Index[T], hit: dict[str, Any]) -> Versioned[T]:
        source = hit.get("_source") or {}
        source.pop("_q", None)
        try:
            doc = msgspec.convert(source, index.doc_type, strict=False)
        except msgspec.ValidationError as exc:
            raise StorageError(f"{index.name}/{hit.get('_id')}: stored document does not decode: {exc}") from exc
        return Versioned(doc, int(hit["_version"]))

    # -- schema -------------------------------------------------------------------------------------------------

    async def migrate(self) -> None:
        """Create the versioned indices and their aliases (and the partition template); idempotent."""
        for names in self._names.values():
            await self._migrate_one(names)

    async def _migrate_one(self, names: IndexNames) -> None:
        if names.partitioned:
            body = template_body(names, self._options)
            await self._call(lambda: self._client.indices.put_index_template(name=names.template, body=body))
            await self._adopt_months(names)
            await self._ensure_partition(names, names.month(datetime.now(UTC)))
            return
        exists = await self._call(lambda: self._client.indices.exists_alias(name=names.alias))
        if not exists:
            await self._create(
                names.physical, index_body(self._options, {names.alias: {"is_write_index": True}}, names)
            )

    async def _adopt_months(self, names: IndexNames) -> None:
        """Give a month alias to partitions made before there were any (they had only the read alias)."""
        pattern = f"{names.alias}.v*-*"
        found = await self._call(lambda: self._client.indices.get_alias(index=pattern, params={"ignore": 404}))
        actions = []
        for physical, entry in found.items():
            aliases = entry.get("aliases") if isinstance(entry, dict) else None
            month = names.month_alias(physical)
            if aliases and names.alias in aliases and names.is_month(month) and month not in aliases:
                actions.append({"add": {"index": physical, "alias": month, "is_write_index": True}})
        if actions:
            await self._call(lambda: self._client.indices.update_aliases(body={"actions": actions}))

    async def _create(self, physical: str, body: dict[str, Any]) -> None:
        params = {"ignore": 400}  # an index another host created meanwhile is fine; other 400s are raised below
        answer = await self._call(lambda: self._client.indices.create(index=physical, body=body, params=params))
        error = answer.get("error") if isinstance(answer, dict) else None
        if error and not (isinstance(error, dict) and error.get("type") == "resource_already_exists_exception"):
            raise StorageError(f"cannot create index {physical}: {error}")

    async def _partitions_of(self, names: IndexNames) -> set[str]:
        """The month aliases of a partitioned kind (each resolves to the month's current version)."""
        loaded = self._partitions.get(names.alias)
        if loaded is not None and time.monotonic() - loaded[0] < _PARTITION_TTL:
            return loaded[1]
        pattern = f"{names.alias}-*"
        found = await self._call(lambda: self._client.indices.get_alias(name=pattern, params={"ignore": 404}))
        aliases = {a for entry in found.values() if isinstance(entry, dict) for a in entry.get("aliases") or {}}
        partitions = {a for a in aliases if names.is_month(a)} | (loaded[1] if loaded else set())
        self._partitions[names.alias] = (time.monotonic(), partitions)
        return partitions

    async def _ensure_partition(self, names: IndexNames, month: str) -> None:
        """Create the month's first index with the read alias and the month alias, unless the month exists."""
        if month in await self._partitions_of(names):
            return
        async with self._partition_lock:
            if month in self._partitions[names.alias][1]:
                return
            aliases = {names.alias: {}, month: {"is_write_index": True}}
            await self._create(names.first_partition(month), index_body(self._options, aliases, names))
            self._partitions[names.alias][1].add(month)

    async def close(self) -> None:
        """Release the connections; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._client.close()

    async def ping(self) -> None:
        """Raise Unavailable unless the cluster answers."""
        try:
            await self._call(self._client.info)
        except Unavailable:
            raise
        except StorageError as exc:
            raise Unavailable(str(exc)) from exc

    # -- reads by id --------------------------------------------------------------------------------------------

    async def _fetch(self, names: IndexNames, ids: Sequence[str], *, source: bool) -> dict[str, dict[str, Any]]:
        """The stored hits among ``ids`` (realtime), remembering their versions."""
        if not ids:
            return {}
        params: dict[str, Any] = {"_source_excludes": _NO_SOURCE} if source else {"_source": "false"}
        if names.partitioned:
            partitions = sorted(await self._partitions_of(names), reverse=True)
            docs = [{"_index": p, "_id": i} for i in ids for p in partitions]
            if not docs:
                return {}
            answer = await self._call(lambda: self._client.mget(body={"docs": docs}, params=params))
        else:
            body = {"ids": list(ids)}
            answer = await self._call(lambda: self._client.mget(body=body, index=names.alias, params=params))
        found: dict[str, dict[str, Any]] = {}
        for hit in answer["docs"]:
            if hit.get("found"):
                found[hit["_id"]] = hit
                self._versions.remember(names.index.name, hit["_id"], seen_from(hit))
        return found

    async def get(self, index: Index[T], doc_id: str) -> Versioned[T] | None:
        """The document with this id, or None (a realtime read: no refresh needed)."""
        hit = (await self._fetch(self._of(index), [doc_id], source=True)).get(doc_id)
        return None if hit is None else self._decode(index, hit)

    async def get_many(self, index: Index[T], doc_ids: Sequence[str]) -> list[Versioned[T]]:
        """The documents that exist among these ids, in the order asked."""
        found = await self._fetch(self._of(index), list(dict.fromkeys(doc_ids)), source=True)
        return [self._decode(index, found[i]) for i in doc_ids if i in found]

    # -- writes -------------------------------------------------------------------------------------------------

    async def put(
        self,
        index: Index[T],
        doc_id: str,
        doc: T,
        *,
        if_version: int | None = None,
        create: bool = False,
        refresh: Refresh | None = None,
    ) -> int:
        """Write one document and return its new version; VersionConflict when the condition fails."""
        result = (await self.bulk([Put(index, doc_id, doc, if_version, create)], refresh=refresh))[0]
        if result.error is not None:
            raise result.error
        return cast(int, result.version)

    async def delete(self, index: Index[T], doc_id: str, *, refresh: Refresh | None = None) -> bool:
        """Delete one document; False when there was none."""
        result = (await self.bulk([Delete(index, doc_id)], refresh=refresh))[0]
        if isinstance(result.error, NotFound):
            return False
        if result.error is not None:
            raise result.error
        return True

    async def bulk(self, ops: Sequence[WriteOp], *, refresh: Refresh | None = None) -> list[WriteResult]:
        """Apply many writes; each item succeeds or fails alone, results in order."""
        if self._closed:
            raise Unavailable("the document store is closed")
        results: list[WriteResult | None] = [None] * len(ops)
        for wave in writes.waves(ops):
            await self._wave(wave, results, self._refresh(refresh), retry=True)
        return cast(list[WriteResult], results)

    async def _wave(
        self, wave: list[writes.Planned], results: list[WriteResult | None], refresh: str, *, retry: bool
    ) -> None:
        looked_up = await self._lookups(wave)
        sending: list[writes.Planned] = []
        for item in wave:
            names = self._of(item.op.index)
            key = (names.index.name, item.op.doc_id)
            seen = looked_up[key] if key in looked_up else self._versions.get(*key)
            if isinstance(item.op, Put):
                item.source = writes.to_source(item.op, names.sortable)
            early = writes.decide(item, seen, await self._target(names, item, seen))
            if early is not None:
                results[item.pos] = early
            else:
                sending.append(item)
        if not sending:
            return
        data = writes.body(sending)
        answer = await self._call(lambda: self._client.bulk(body=data, params={"refresh": refresh}))
        lost = self._answers(sending, answer["items"], results)
        if lost:
            await self._conflicts(lost, results, refresh, retry=retry)

    async def _target(self, names: IndexNames, item: writes.Planned, seen: Seen | None) -> str | None:
        """Where to write: the alias (it follows a migration's switch), or a partitioned document's month."""
        if not names.partitioned:
            return names.alias
        if seen is not None:
            return names.month_alias(seen.physical)  # not the index: a migration may have switched the month
        if item.source is None:  # a delete of a partitioned document that was looked up and is missing
            return None
        month = names.partition(item.source)
        await self._ensure_partition(names, month)
        return month

    async def _lookups(self, wave: list[writes.Planned]) -> dict[tuple[str, str], Seen | None]:
        """Current state of the documents whose write needs it and whose last seen state will not do."""
        wanted: dict[str, list[str]] = {}
        for item in wave:
            op = item.op
            seen = self._versions.get(op.index.name, op.doc_id)
            stale_put = (
                isinstance(op, Put) and op.if_version is not None and (seen is None or seen.version != op.if_version)
            )
            unplaced = (
                seen is None and self._of(op.index).partitioned and not (isinstance(op, Put) and op.if_version is None)
            )
            if stale_put or unplaced:
                wanted.setdefault(op.index.name, []).append(op.doc_id)
        out: dict[tuple[str, str], Seen | None] = {}
        for name, ids in wanted.items():
            found = await self._fetch(self._names[name], ids, source=False)
            out.update({(name, i): (seen_from(found[i]) if i in found else None) for i in ids})
        return out

    def _answers(
        self, sending: list[writes.Planned], items: list[dict[str, Any]], results: list[WriteResult | None]
    ) -> list[writes.Planned]:
        """Record each item's outcome; return the items that lost a version race."""
        lost = []
        for item, wrapped in zip(sending, items, strict=True):
            answer = next(iter(wrapped.values()))
            result = writes.outcome(item, answer)
            if result is None:
                lost.append(item)
                continue
            results[item.pos] = result
            if result.ok and isinstance(item.op, Put):
                self._versions.remember(item.op.index.name, item.op.doc_id, seen_from(answer))
            elif isinstance(item.op, Delete):
                self._versions.forget(item.op.index.name, item.op.doc_id)
        return lost

    async def _conflicts(
        self, lost: list[writes.Planned], results: list[WriteResult | None], refresh: str, *, retry: bool
    ) -> None:
        """Report each lost race with the version that won; retry once a write whose remembered state was stale."""
        again: list[writes.Planned] = []
        for item in lost:
            op = item.op
            found = await self._fetch(self._of(op.index), [op.doc_id], source=False)
            actual = int(found[op.doc_id]["_version"]) if op.doc_id in found else None
            if retry and isinstance(op, Put) and op.if_version is not None and actual == op.if_version:
                again.append(writes.Planned(item.pos, op))
            else:
                results[item.pos] = writes.conflict(op, actual)
        if again:
            await self._wave(again, results, refresh, retry=False)

    # -- queries ------------------------------------------------------------------------------------------------

    async def count(self, index: Index[T], where: Condition | None = None) -> int:
        """How many documents match (as of the last refresh)."""
        body = {"query": compile_where(where)}
        names = self._of(index)
        answer = await self._call(lambda: self._client.count(body=body, index=names.alias))
        return int(answer["count"])

    async def query(
        self,
        index: Index[T],
        where: Condition | None = None,
        *,
        sort: Sequence[Sort] = (),
        limit: int = 20,
        after: str | None = None,
    ) -> Page[T]:
        """One page of matching documents in sort order, after the cursor ``after``."""
        if not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
            raise InvalidQuery(f"limit must be 1..{_MAX_LIMIT}: {limit!r}")
        plan = SortPlan(sort, self._of(index).sortable)
        query = compile_where(where)
        hits = await self._search(index, query, plan, limit + 1, None if after is None else plan.search_after(after))
        items = [self._decode(index, hit) for hit in hits[:limit]]
        more = len(hits) > limit
        return Page(items, plan.cursor(hits[limit - 1]["sort"]) if more else None)

    async def _search(
        self, index: Index[T], query: dict[str, Any], plan: SortPlan, size: int, after: list[Any] | None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "query": query,
            "sort": plan.dsl,
            "size": size,
            "_source": {"excludes": _NO_SOURCE},
            "seq_no_primary_term": True,
            "version": True,
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        names = self._of(index)
        answer = await self._call(lambda: self._client.search(body=body, index=names.alias))
        hits: list[dict[str, Any]] = answer["hits"]["hits"]
        for hit in hits:
            self._versions.remember(index.name, hit["_id"], seen_from(hit))
        return hits

    async def scan(
        self, index: Index[T], where: Condition | None = None, *, page_size: int = 500
    ) -> AsyncIterator[list[Versioned[T]]]:
        """Every matching document, page by page, in id order (``search_after`` on the id)."""
        plan = SortPlan(())
        query = compile_where(where)
        after: list[Any] | None = None
        while True:
            hits = await self._search(index, query, plan, page_size, after)
            if not hits:
                return
            yield [self._decode(index, hit) for hit in hits]
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]

    async def terms(
        self, index: Index[T], field: str, where: Condition | None = None, *, size: int = 10
    ) -> list[TermBucket]:
        """The ``size`` most frequent values of ``field`` among the matches (a terms aggregation)."""
        body = aggregate.terms_body(field, where, check_size(size))
        alias = self._of(index).alias
        return aggregate.terms_answer(field, await self._call(lambda: self._client.search(body=body, index=alias)))

    async def date_histogram(
        self,
        index: Index[T],
        field: str,
        where: Condition | None = None,
        *,
        interval: Interval,
        since: datetime,
        until: datetime,
    ) -> list[TimeBucket]:
        """Matches per calendar interval of ``field`` over ``[since, until)``, empty intervals included."""
        wanted = spans(interval, since, until)
        body = aggregate.histogram_body(field, where, wanted)
        alias = self._of(index).alias
        counts = aggregate.histogram_answer(await self._call(lambda: self._client.search(body=body, index=alias)))
        return [TimeBucket(span.start, span.end, count) for span, count in zip(wanted, counts, strict=True)]

    async def delete_where(self, index: Index[T], where: Condition) -> int:
        """Delete every match (delete_by_query, after a refresh so recent writes are seen); return how many."""
        body = {"query": compile_where(where)}
        alias = self._of(index).alias
        await self._call(lambda: self._client.indices.refresh(index=alias))
        params = {"refresh": "true", "conflicts": "proceed"}
        answer = await self._call(lambda: self._client.delete_by_query(index=alias, body=body, params=params))
        return int(answer["deleted"])
