"""Bulk event indexing through the OpenSearch adapter vs raw opensearch-py bulk, same documents, same server.

    .venv/bin/python bench/opensearch.py                        # against osmem-server (started here)
    .venv/bin/python bench/opensearch.py --url https://host:9200  # against a real cluster (indices bench-*)
    .venv/bin/python bench/opensearch.py --url https://admin:secret@host:9200 --ca-certs ca.pem --migrate

Both sides send the same events (built like the tracker builds them) in batches of ``--batch`` with ``--concurrency``
requests in flight and ``refresh=false``: the raw side with ``AsyncOpenSearch.bulk`` of the events' JSON into an
index with OpenSearch's default dynamic mapping; the adapter side with ``OpenSearchDocumentStore.bulk`` (which also
writes the searchable ``_q`` pairs and checks each item). Prints events/s of each and the ratio adapter/raw
(the issue's target: at least 0.8). osmem figures compare the two paths; absolute rates only mean something on a
real cluster. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opensearchpy import AsyncOpenSearch

from tracardi.domain.common import Entity, PrimaryEntity
from tracardi.domain.event import Event, EventSession
from tracardi.storage import EVENTS, Put
from tracardi.storage.indices import ALL_INDICES
from tracardi.storage.opensearch import Migrations, OpenSearchDocumentStore, OpenSearchOptions


def make_events(count: int) -> list[Event]:
    """Events shaped like a page-view the collector stores, with a few free-form properties each."""
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    events = []
    for i in range(count):
        ev = Event(
            id=str(uuid.UUID(int=i)),
            type="page-view",
            source=Entity(id="web"),
            session=EventSession(id=f"s{i % 500}"),
            profile=PrimaryEntity(id=f"p{i % 1000}"),
            properties={"title": f"Page {i % 50}", "price": i % 97 + 0.5, "tags": ["a", "b"], "url": f"/p/{i}"},
            context={"page": {"url": f"https://example.com/p/{i}", "referer": {"host": "google.com"}}},
        )
        ev.metadata.time.insert = t0 + timedelta(seconds=i)
        events.append(ev)
    return events


async def in_batches(
    items: Sequence[Event], batch: int, concurrency: int, send: Callable[[Sequence[Event]], Awaitable[None]]
) -> float:
    """Seconds to send every batch, ``concurrency`` at a time."""
    sem = asyncio.Semaphore(concurrency)

    async def one(chunk: Sequence[Event]) -> None:
        async with sem:
            await send(chunk)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for i in range(0, len(items), batch):
            group.create_task(one(items[i : i + batch]))
    return time.perf_counter() - start


TLS: dict[str, Any] = {}  # --ca-certs / --insecure, for both clients


async def raw_rate(url: str, index: str, events: list[Event], batch: int, concurrency: int) -> float:
    client = AsyncOpenSearch(hosts=[url], timeout=60, **TLS)
    encode = msgspec.json.Encoder().encode
    try:
        await client.indices.create(index=index, body={"settings": {"index": {"number_of_replicas": 0}}})

        async def send(chunk: Sequence[Event]) -> None:
            lines = []
            for ev in chunk:
                lines.append(encode({"index": {"_index": index, "_id": ev.id}}))
                lines.append(encode(ev))
            answer = await client.bulk(body=b"\n".join([*lines, b""]), params={"refresh": "false"})
            if answer["errors"]:
                raise RuntimeError("raw bulk reported item errors")

        seconds = await in_batches(events, batch, concurrency, send)
        await client.indices.delete(index=index)
        return len(events) / seconds
    finally:
        await client.close()


async def adapter_rate(
    url: str, prefix: str, events: list[Event], batch: int, concurrency: int, sortable: Literal["declared", "any"]
) -> float:
    options = OpenSearchOptions(hosts=url, prefix=prefix, replicas=0, sortable=sortable, **TLS)
    store = OpenSearchDocumentStore(options, ALL_INDICES)
    try:
        await store.migrate()

        async def send(chunk: Sequence[Event]) -> None:
            results = await store.bulk([Put(EVENTS, ev.id, ev) for ev in chunk])
            if not all(r.ok for r in results):
                raise RuntimeError("adapter bulk reported item errors")

        seconds = await in_batches(events, batch, concurrency, send)
        await store._client.indices.delete(index=f"{prefix}.*")
        return len(events) / seconds
    finally:
        await store.close()


async def migration_rate(url: str, prefix: str, events: list[Event], batch: int, concurrency: int) -> float:
    """Events/s of ``migrate up`` copying the events (and their months) into a new version."""
    before = OpenSearchDocumentStore(OpenSearchOptions(hosts=url, prefix=prefix, replicas=0, **TLS), ALL_INDICES)
    after = OpenSearchDocumentStore(
        OpenSearchOptions(hosts=url, prefix=prefix, replicas=0, sortable="any", **TLS), ALL_INDICES
    )
    try:
        await before.migrate()

        async def send(chunk: Sequence[Event]) -> None:
            await before.bulk([Put(EVENTS, ev.id, ev) for ev in chunk])

        await in_batches(events, batch, concurrency, send)
        start = time.perf_counter()
        states = await Migrations(after).up(batch=batch)
        seconds = time.perf_counter() - start
        if not all(state.up_to_date for state in states):
            raise RuntimeError("migrate up left an index outdated")
        await after._client.indices.delete(index=f"{prefix}.*")
        return len(events) / seconds
    finally:
        await before.close()
        await after.close()


@contextlib.asynccontextmanager
async def server(url: str | None) -> AsyncIterator[str]:
    if url:
        yield url
        return
    from osmem_server import OsmemServer

    osmem = await asyncio.to_thread(OsmemServer.start, japanese=False)
    try:
        yield osmem.url
    finally:
        await asyncio.to_thread(osmem.close)


async def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/opensearch.py", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--url", help="a real cluster (default: start osmem-server)")
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="alternating raw/adapter rounds; the best of each is kept")
    p.add_argument("--any", action="store_true", help="also measure the adapter with every path sortable")
    p.add_argument("--migrate", action="store_true", help="also measure migrate up copying the events")
    p.add_argument("--ca-certs", help="CA bundle of a real cluster's TLS certificate")
    p.add_argument("--insecure", action="store_true", help="do not verify the cluster's TLS certificate")
    args = p.parse_args(argv)
    if args.ca_certs:
        TLS["ca_certs"] = args.ca_certs
    if args.insecure:
        TLS["verify_certs"] = False
    events = make_events(args.events)
    raw: list[float] = []
    ours: list[float] = []
    anysort: list[float] = []
    migrated = 0.0
    async with server(args.url) as url:
        if args.migrate:
            migrated = await migration_rate(
                url, f"bench-mig-{uuid.uuid4().hex[:8]}", events, args.batch, args.concurrency
            )
        for r in range(args.rounds):
            tag = uuid.uuid4().hex[:8]
            raw.append(await raw_rate(url, f"bench-raw-{tag}", events, args.batch, args.concurrency))
            ours.append(await adapter_rate(url, f"bench-{tag}", events, args.batch, args.concurrency, "declared"))
            if args.any:
                anysort.append(await adapter_rate(url, f"bench-any-{tag}", events, args.batch, args.concurrency, "any"))
            print(f"round {r + 1}: raw {raw[-1]:,.0f} events/s, adapter {ours[-1]:,.0f} events/s")
    target = "osmem-server" if not args.url else args.url
    print(f"target: {target}; {args.events} events, batch {args.batch}, concurrency {args.concurrency}")
    print(f"raw opensearch-py bulk (dynamic mapping): {max(raw):,.0f} events/s")
    print(f"adapter bulk (sortable = declared):       {max(ours):,.0f} events/s")
    print(f"ratio adapter/raw:                        {max(ours) / max(raw):.2f} (target >= 0.80)")
    if migrated:
        print(f"migrate up (copy twice, switch, replay, verify): {migrated:,.0f} events/s")
    if anysort:
        print(
            f"adapter bulk (sortable = any):            {max(anysort):,.0f} events/s, "
            f"ratio {max(anysort) / max(raw):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
