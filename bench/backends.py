"""The storage backends a bench server runs on: its environment, and the OpenSearch stand-in it needs.

``embedded`` is the default install (SQLite file in a fresh folder, embedded queues). ``opensearch`` is the
scale-out shape: documents on OpenSearch under a fresh index prefix, queues on Redis under a fresh key prefix
(the OpenSearch adapter has no embedded queue). Without ``--opensearch-url`` the bench starts osmem-server, the
in-memory stand-in the tests use, and pins it to the target core: it is part of what answers each /track, so it
must share the server's core rather than steal wrk's.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BACKENDS = ("embedded", "opensearch")
# the target name a backend's server is reported under: "server" stays the embedded one, as before this flag
TARGET_OF = {"embedded": "server", "opensearch": "opensearch"}


@dataclass(frozen=True)
class Cluster:
    """Where the OpenSearch-backed server keeps its documents, and whether the bench started it."""

    url: str
    started: bool  # True: osmem-server started (and stopped) by the bench; False: a real cluster from the flag
    pinned_to: int | None  # the core osmem was pinned to, when it was
    pid: int | None  # osmem's process, to report its CPU next to the server's


def without_credentials(url: str) -> str:
    """The URL as printed and stored in the results: a password in ``--opensearch-url`` must not end up there."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _pin_all_threads(pid: int, cpu: int) -> None:
    """Pin every thread the process has (its runtime started several), so new threads inherit the core too."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), {cpu})


@contextlib.contextmanager
def cluster(url: str | None, cpu: int | None) -> Iterator[Cluster]:
    """The cluster from ``--opensearch-url``, or an osmem-server on `cpu`, stopped on exit whatever happens."""
    if url:
        yield Cluster(url=url, started=False, pinned_to=None, pid=None)
        return
    from osmem_server import OsmemServer

    server = OsmemServer.start(japanese=False)
    try:
        pinned = cpu if cpu is not None and hasattr(os, "sched_setaffinity") else None
        if pinned is not None:
            _pin_all_threads(server.pid, pinned)
        yield Cluster(url=server.url, started=True, pinned_to=pinned, pid=server.pid)
    finally:
        server.close()
        if server.process.stdout is not None:
            server.process.stdout.close()


def embedded_env(data: Path) -> dict[str, str]:
    """A fresh SQLite folder; the backend is set explicitly so a TRACARDI_STORAGE_BACKEND in the shell cannot leak."""
    return {"TRACARDI_STORAGE_BACKEND": "embedded", "TRACARDI_STORAGE_PATH": str(data)}


@dataclass(frozen=True)
class OpenSearchTarget:
    """The fresh names one OpenSearch-backed run uses, so runs and parallel users never share state."""

    index_prefix: str
    redis_prefix: str

    @classmethod
    def fresh(cls) -> OpenSearchTarget:
        tag = uuid.uuid4().hex[:8]
        return cls(index_prefix=f"bench-{tag}", redis_prefix=f"tracardi-bench-{tag}:")

    def env(self, data: Path, url: str, redis_url: str) -> dict[str, str]:
        """Documents on the cluster (no replicas: a one-node cluster stays green), queues and leases on Redis."""
        return {
            "TRACARDI_STORAGE_BACKEND": "opensearch",
            "TRACARDI_STORAGE_PATH": str(data),
            "TRACARDI_OPENSEARCH_HOSTS": url,
            "TRACARDI_OPENSEARCH_PREFIX": self.index_prefix,
            "TRACARDI_OPENSEARCH_REPLICAS": "0",
            "TRACARDI_REDIS_URL": redis_url,
            "TRACARDI_REDIS_PREFIX": self.redis_prefix,
        }

    def drop_redis_keys(self, redis_url: str) -> int:
        """Delete the run's queue streams and leases from the shared Redis; returns how many keys went."""
        import redis

        client = redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{self.redis_prefix}*", count=1000))
            return int(client.delete(*keys)) if keys else 0
        finally:
            client.close()
