"""Schema versions of the OpenSearch indices: ``migrate status``, ``up`` and ``cleanup``.

An index's stored ``_q`` fields depend on a spec (schema version, sortable paths) kept in its mapping's
``_meta``. When the code's spec differs, ``up`` builds ``<alias>.v<N+1>``: it copies every document from the
current version in id-ordered batches, re-encoding it (the transform), with ``version_type=external`` and the
document's own ``_version``, so versions carry over, a copy never overwrites a newer write, and a re-run after a
crash skips what is already there (resumable). It copies twice (the second pass picks up writes made during the
first), switches the alias in one atomic ``_aliases`` call, copies once more from the old version (writes that
landed there just before the switch; external versions keep the newest), then verifies document counts and a sample
of ids. The old version stays until ``cleanup``. Limits: a document deleted from the old version during the copy
survives in the new one; monthly event partitions are not re-copied (new months take the new template).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from tracardi.storage.errors import StorageError
from tracardi.storage.opensearch._encode import ID, searchable
from tracardi.storage.opensearch._indices import IndexNames, index_body, spec, template_body

if TYPE_CHECKING:
    from tracardi.storage.opensearch.documents import OpenSearchDocumentStore

_VERSION = re.compile(r"\.v(\d+)$")
_encode = msgspec.json.Encoder().encode
Progress = Callable[[str], None]


@dataclass(slots=True)
class IndexStatus:
    """One kind of document: which version serves it, whether it matches the code, what is left over."""

    alias: str
    current: str | None = None
    count: int = 0
    up_to_date: bool = False
    pending: str | None = None
    old: list[str] = field(default_factory=list)

    def line(self) -> str:
        state = "up to date" if self.up_to_date else "needs migrate up"
        extra = f", pending copy {self.pending}" if self.pending else ""
        old = f", old kept until cleanup: {', '.join(self.old)}" if self.old else ""
        return f"{self.alias} -> {self.current} ({self.count} documents): {state}{extra}{old}"


def _version(physical: str) -> int:
    match = _VERSION.search(physical)
    return int(match.group(1)) if match else 0


class Migrations:
    """Status, upgrade and cleanup of one store's non-partitioned indices."""

    def __init__(self, store: OpenSearchDocumentStore, progress: Progress | None = None) -> None:
        self._store = store
        self._client = store._client
        self._progress = progress or (lambda _: None)

    async def status(self) -> list[IndexStatus]:
        """Every index kind of the store, as the cluster has it."""
        return [await self._status(names) for names in self._store._names.values() if not names.partitioned]

    async def _status(self, names: IndexNames) -> IndexStatus:
        call = self._store._call
        found = await call(lambda: self._client.indices.get_alias(index=f"{names.alias}.v*", params={"ignore": 404}))
        versions = sorted((p for p in found if _VERSION.search(p)), key=_version)
        current = [p for p in versions if names.alias in (found[p].get("aliases") or {})]
        out = IndexStatus(names.alias, current[0] if current else None)
        if out.current is None:
            return out
        physical = out.current
        mappings = await call(lambda: self._client.indices.get_mapping(index=physical))
        meta = mappings[physical]["mappings"].get("_meta", {}).get("tracardi")
        out.up_to_date = meta == spec(names)
        out.count = int((await call(lambda: self._client.count(index=physical)))["count"])
        out.old = [p for p in versions if _version(p) < _version(physical)]
        newer = [p for p in versions if _version(p) > _version(physical)]
        out.pending = newer[-1] if newer else None
        return out

    async def up(self, batch: int = 500) -> list[IndexStatus]:
        """Upgrade every index whose spec differs from the code's; return the statuses after."""
        for names in self._store._names.values():
            if names.partitioned:
                body = template_body(names, self._store._options)
                await self._store._call(
                    lambda n=names, b=body: self._client.indices.put_index_template(  # type: ignore[misc]
                        name=n.template, body=b
                    )
                )
                continue
            state = await self._status(names)
            if state.current is None:
                await self._store._migrate_one(names)
            elif not state.up_to_date:
                await self._upgrade(names, state, batch)
        return await self.status()

    async def _upgrade(self, names: IndexNames, state: IndexStatus, batch: int) -> None:
        old = str(state.current)
        new = state.pending or f"{names.alias}.v{_version(old) + 1}"
        if state.pending is None:
            await self._store._create(new, index_body(self._store._options, {}, names))
        for round_ in ("copy", "catch-up"):
            copied = await self._copy(names, old, new, batch)
            self._progress(f"{names.alias}: {round_} {old} -> {new}: {copied} documents")
        actions = [
            {"remove": {"index": old, "alias": names.alias}},
            {"add": {"index": new, "alias": names.alias, "is_write_index": True}},
        ]
        await self._store._call(lambda: self._client.indices.update_aliases(body={"actions": actions}))
        copied = await self._copy(names, old, new, batch)
        self._progress(f"{names.alias}: switched to {new}; {copied} late documents replayed")
        await self._verify(names, old, new)

    async def _copy(self, names: IndexNames, old: str, new: str, batch: int) -> int:
        """Copy every document of ``old`` into ``new`` with its version; return how many were new or newer."""
        call = self._store._call
        after: list[Any] | None = None
        written = 0
        while True:
            body: dict[str, Any] = {"size": batch, "sort": [{ID: "asc"}], "version": True, "query": {"match_all": {}}}
            if after is not None:
                body["search_after"] = after
            hits = (await call(lambda b=body: self._client.search(index=old, body=b)))["hits"]["hits"]  # type: ignore[misc]
            if not hits:
                return written
            lines: list[bytes] = []
            for hit in hits:
                source = hit["_source"]
                source.pop("_q", None)
                meta = {"_index": new, "_id": hit["_id"], "version": hit["_version"], "version_type": "external"}
                lines += [_encode({"index": meta}), _encode(searchable(source, hit["_id"], names.sortable))]
            data = b"\n".join([*lines, b""])
            answer = await call(lambda d=data: self._client.bulk(body=d, params={"refresh": "false"}))  # type: ignore[misc]
            for item in answer["items"]:
                status = next(iter(item.values()))["status"]
                if status not in (200, 201, 409):  # 409: a same or newer version is already there
                    raise StorageError(f"copy into {new} failed: {item}")
                written += status != 409
            after = hits[-1]["sort"]

    async def _verify(self, names: IndexNames, old: str, new: str) -> None:
        call = self._store._call
        await call(lambda: self._client.indices.refresh(index=f"{old},{new}"))
        counts = [int((await call(lambda i=i: self._client.count(index=i)))["count"]) for i in (old, new)]  # type: ignore[misc]
        if counts[1] < counts[0]:
            raise StorageError(f"{names.alias}: {new} holds {counts[1]} documents, {old} {counts[0]}")
        sample = {"size": 100, "query": {"function_score": {"random_score": {}}}, "version": True, "_source": False}
        hits = (await call(lambda: self._client.search(index=old, body=sample)))["hits"]["hits"]
        docs = [{"_index": new, "_id": hit["_id"]} for hit in hits]
        found = (
            (await call(lambda: self._client.mget(body={"docs": docs}, params={"_source": "false"})))["docs"]
            if docs
            else []
        )
        for hit, copy in zip(hits, found, strict=True):
            if not copy.get("found") or copy["_version"] < hit["_version"]:
                raise StorageError(f"{names.alias}: {hit['_id']} v{hit['_version']} is missing from {new}")
        self._progress(f"{names.alias}: verified {counts[1]} documents in {new}, {len(hits)} sampled ids")

    async def cleanup(self) -> list[str]:
        """Delete the versions older than the one each alias serves; return their names."""
        deleted: list[str] = []
        for state in await self.status():
            for physical in state.old:
                await self._store._call(lambda p=physical: self._client.indices.delete(index=p))  # type: ignore[misc]
                deleted.append(physical)
        return deleted
