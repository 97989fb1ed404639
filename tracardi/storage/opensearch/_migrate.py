"""Schema versions of the OpenSearch indices and event months: ``migrate status``, ``up`` and ``cleanup``.

An index's stored ``_q`` fields depend on a spec (schema version, sortable paths) kept in its mapping's
``_meta``. A unit of migration is an unpartitioned kind (alias ``<prefix>.<name>``) or one month of a partitioned
kind (month alias ``<prefix>.<name>-<month>``, see ``_indices``). When the code's spec differs, ``up`` builds the
next version of it: it copies every document from the current version in id-ordered batches, re-encoding it (the
transform), with ``version_type=external`` and the document's own ``_version``, so versions carry over and a copy
never overwrites a newer write. A re-run after a crash finds the pending version and resumes the first pass after
the highest id it holds. Writes keep going to the current version through its aliases while the copy runs, so it
copies twice (the second, full pass picks up what was written during the first), switches the aliases in one
atomic ``_aliases`` call (from then on every write lands in the new version), and copies once more from the old
one (writes that landed there just before the switch are replayed; external versions keep the newest). Then it
verifies document counts and a sample of ids. The old version stays until ``cleanup``. Limit: a document deleted
from the old version during the copy survives in the new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from tracardi.storage.errors import StorageError
from tracardi.storage.migration import IndexStatus, MigrationStep, Report
from tracardi.storage.opensearch._encode import ID, searchable
from tracardi.storage.opensearch._indices import IndexNames, index_body, spec

if TYPE_CHECKING:
    from tracardi.storage.migration import Migrator
    from tracardi.storage.opensearch.documents import OpenSearchDocumentStore

_encode = msgspec.json.Encoder().encode
_MISSING = {"ignore": 404}


async def _quiet(step: MigrationStep) -> None:
    """No report."""


@dataclass(frozen=True, slots=True)
class _Unit:
    """What one migration step moves: an unpartitioned kind, or one month of a partitioned kind."""

    names: IndexNames
    alias: str
    """The alias whose write index is the current version (the kind's alias, or the month alias)."""
    month: str | None = None

    @property
    def pattern(self) -> str:
        return f"{self.names.alias}.v*" + (f"-{self.month}" if self.month else "")

    def physical(self, version: int) -> str:
        return f"{self.names.alias}.v{version}" + (f"-{self.month}" if self.month else "")

    def version(self, physical: str) -> int | None:
        """The version of one of this unit's indices, None for another index the pattern caught."""
        suffix = re.escape(f"-{self.month}") if self.month else ""
        match = re.fullmatch(re.escape(self.names.alias) + r"\.v(\d+)" + suffix, physical)
        return int(match.group(1)) if match else None

    def aliases(self) -> list[tuple[str, bool]]:
        """The aliases the current version carries, and which of them it is the write index of."""
        if self.month is None:
            return [(self.alias, True)]
        return [(self.names.alias, False), (self.alias, True)]


class Migrations:
    """Status, upgrade and cleanup of one store's indices and event months (the Migrator port)."""

    def __init__(self, store: OpenSearchDocumentStore, report: Report | None = None) -> None:
        self._store = store
        self._client = store._client
        self._call = store._call
        self._report = report or _quiet

    async def _units(self) -> list[_Unit]:
        units: list[_Unit] = []
        for names in self._store._names.values():
            if not names.partitioned:
                units.append(_Unit(names, names.alias))
                continue
            pattern = f"{names.alias}-*"
            found = await self._call(lambda p=pattern: self._client.indices.get_alias(name=p, params=_MISSING))  # type: ignore[misc]
            aliases = {a for entry in found.values() if isinstance(entry, dict) for a in entry.get("aliases") or {}}
            months = sorted(a for a in aliases if names.is_month(a))
            units += [_Unit(names, month, month.rsplit("-", 1)[1]) for month in months]
        return units

    async def status(self) -> list[IndexStatus]:
        """Every unpartitioned kind and every event month, as the cluster has it."""
        return [await self._status(unit) for unit in await self._units()]

    async def _status(self, unit: _Unit) -> IndexStatus:
        found = await self._call(lambda: self._client.indices.get_alias(index=unit.pattern, params=_MISSING))
        versions = sorted((p for p in found if unit.version(p) is not None), key=lambda p: unit.version(p) or 0)
        current = [p for p in versions if unit.alias in (found[p].get("aliases") or {})]
        out = IndexStatus(unit.alias, current[0] if current else None)
        if out.current is None:
            return out
        physical = out.current
        mappings = await self._call(lambda: self._client.indices.get_mapping(index=physical))
        meta = mappings[physical]["mappings"].get("_meta", {}).get("tracardi")
        out.up_to_date = meta == spec(unit.names)
        out.count = int((await self._call(lambda: self._client.count(index=physical)))["count"])
        now = unit.version(physical) or 0
        out.old = [p for p in versions if (unit.version(p) or 0) < now]
        newer = [p for p in versions if (unit.version(p) or 0) > now]
        out.pending = newer[-1] if newer else None
        return out

    async def up(self, report: Report | None = None, *, batch: int = 500) -> list[IndexStatus]:
        """Upgrade every index and event month whose spec differs from the code's; return the statuses after."""
        say = report or self._report
        for names in self._store._names.values():
            if names.partitioned:  # the template of new months, and this month
                await self._store._migrate_one(names)
        for unit in await self._units():
            state = await self._status(unit)
            if state.current is None:
                await self._store._migrate_one(unit.names)
            elif not state.up_to_date:
                await self._upgrade(unit, state, batch, say)
        return await self.status()

    async def _upgrade(self, unit: _Unit, state: IndexStatus, batch: int, say: Report) -> None:
        old = str(state.current)
        new = state.pending or unit.physical((unit.version(old) or 0) + 1)
        resume = None
        if state.pending is None:
            await self._store._create(new, index_body(self._store._options, {}, unit.names))
        else:
            resume = await self._last_id(new)
        step = MigrationStep(unit.alias, "copy", old, new, total=state.count)
        await self._copy(unit, step, batch, say, resume)
        await self._copy(unit, MigrationStep(unit.alias, "catch-up", old, new, total=state.count), batch, say, None)
        actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for alias, _ in unit.aliases()]
        actions += [{"add": {"index": new, "alias": a, "is_write_index": w}} for a, w in unit.aliases()]
        await self._call(lambda: self._client.indices.update_aliases(body={"actions": actions}))
        await say(MigrationStep(unit.alias, "switch", old, new, state.count, state.count))
        await self._copy(unit, MigrationStep(unit.alias, "replay", old, new, total=state.count), batch, say, None)
        await self._verify(unit, old, new, say)

    async def _last_id(self, physical: str) -> list[Any] | None:
        """The sort values of the highest id already copied into a pending version (where to resume)."""
        body = {"size": 1, "sort": [{ID: "desc"}], "_source": False, "query": {"match_all": {}}}
        hits = (await self._call(lambda: self._client.search(index=physical, body=body)))["hits"]["hits"]
        return list(hits[0]["sort"]) if hits else None

    async def _copy(self, unit: _Unit, step: MigrationStep, batch: int, say: Report, after: list[Any] | None) -> None:
        """Copy the documents of ``step.source`` after ``after`` into ``step.target``, with their versions."""
        done = 0
        while True:
            body: dict[str, Any] = {"size": batch, "sort": [{ID: "asc"}], "version": True, "query": {"match_all": {}}}
            if step.stage != "copy":
                body["_source"] = False  # read ids and versions; fetch the few documents that need copying
            if after is not None:
                body["search_after"] = after
            answer = await self._call(lambda b=body: self._client.search(index=step.source, body=b))  # type: ignore[misc]
            hits = answer["hits"]["hits"]
            if not hits:
                break
            after = hits[-1]["sort"]
            if step.stage != "copy":  # later passes send only what the target lacks or holds older
                hits = await self._sources(step.source, await self._behind(step.target, hits))
            if hits:
                await self._bulk(unit, step.target, hits)
            done += len(answer["hits"]["hits"])
            await say(MigrationStep(step.alias, step.stage, step.source, step.target, done, step.total))
        if not done:
            await say(step)

    async def _behind(self, target: str, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The hits whose document ``target`` lacks or holds at an older version (a realtime get of versions)."""
        body = {"ids": [hit["_id"] for hit in hits]}
        answer = await self._call(lambda: self._client.mget(index=target, body=body, params={"_source": "false"}))
        held = {doc["_id"]: int(doc["_version"]) for doc in answer["docs"] if doc.get("found")}
        return [hit for hit in hits if held.get(hit["_id"], 0) < int(hit["_version"])]

    async def _sources(self, source: str, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The current documents (with versions) of these hits, read from ``source`` in real time."""
        if not hits:
            return []
        body = {"ids": [hit["_id"] for hit in hits]}
        answer = await self._call(lambda: self._client.mget(index=source, body=body))
        return [doc for doc in answer["docs"] if doc.get("found")]

    async def _bulk(self, unit: _Unit, target: str, hits: list[dict[str, Any]]) -> None:
        lines: list[bytes] = []
        for hit in hits:
            source = hit["_source"]
            source.pop("_q", None)
            meta = {"_index": target, "_id": hit["_id"], "version": hit["_version"], "version_type": "external"}
            lines += [_encode({"index": meta}), _encode(searchable(source, hit["_id"], unit.names.sortable))]
        data = b"\n".join([*lines, b""])
        answer = await self._call(lambda: self._client.bulk(body=data, params={"refresh": "false"}))
        for item in answer["items"]:
            status = next(iter(item.values()))["status"]
            if status not in (200, 201, 409):  # 409: a same or newer version is already there
                raise StorageError(f"copy into {target} failed: {item}")

    async def _verify(self, unit: _Unit, old: str, new: str, say: Report) -> None:
        """The new version holds at least the old one's count, and every sampled id at its version or newer."""
        await self._call(lambda: self._client.indices.refresh(index=f"{old},{new}"))
        counts = [int((await self._call(lambda i=i: self._client.count(index=i)))["count"]) for i in (old, new)]  # type: ignore[misc]
        if counts[1] < counts[0]:
            raise StorageError(f"{unit.alias}: {new} holds {counts[1]} documents, {old} {counts[0]}")
        sample = {"size": 100, "query": {"function_score": {"random_score": {}}}, "version": True, "_source": False}
        hits = (await self._call(lambda: self._client.search(index=old, body=sample)))["hits"]["hits"]
        docs = [{"_index": new, "_id": hit["_id"]} for hit in hits]
        params = {"_source": "false"}
        found = (
            (await self._call(lambda: self._client.mget(body={"docs": docs}, params=params)))["docs"] if docs else []
        )
        for hit, copy in zip(hits, found, strict=True):
            if not copy.get("found") or copy["_version"] < hit["_version"]:
                raise StorageError(f"{unit.alias}: {hit['_id']} v{hit['_version']} is missing from {new}")
        await say(MigrationStep(unit.alias, "verified", old, new, len(hits), counts[1]))

    async def cleanup(self) -> list[str]:
        """Delete the versions older than the one each alias serves; return their names."""
        deleted: list[str] = []
        for state in await self.status():
            for physical in state.old:
                await self._call(lambda p=physical: self._client.indices.delete(index=p))  # type: ignore[misc]
                deleted.append(physical)
        return deleted


if TYPE_CHECKING:

    def _conforms(migrations: Migrations) -> Migrator:
        return migrations
