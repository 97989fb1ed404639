"""Connection and index settings of the OpenSearch adapter (section ``[opensearch]``)."""

from __future__ import annotations

from typing import Literal

import msgspec

from tracardi.secret import Secret

Refresh = Literal["false", "true", "wait_for"]


class OpenSearchOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the cluster is, how to reach it, and how indices are named and written."""

    hosts: str = "http://127.0.0.1:9200"
    """Node URLs, comma-separated (one string, so ``TRACARDI_OPENSEARCH_HOSTS`` can set it); requests are spread."""
    prefix: str = "tracardi"
    """Index and alias names start with ``<prefix>.`` (several installations can share a cluster)."""
    verify_certs: bool = True
    """Check the server certificate on https hosts."""
    ca_certs: str = ""
    """A CA bundle file for https hosts; empty: the system's."""
    username: str = ""
    """Basic authentication user (with ``password``); empty: no basic auth."""
    password: Secret = msgspec.field(default_factory=lambda: Secret(""))
    """Basic authentication password."""
    api_key: Secret = msgspec.field(default_factory=lambda: Secret(""))
    """An API key (sent as ``Authorization: ApiKey <key>``), instead of basic auth."""
    timeout: float = 10.0
    """Seconds before a request is abandoned."""
    max_retries: int = 3
    """Retries of a request answered 429/502/503/504 or lost to a connection error, with exponential backoff."""
    retry_backoff: float = 0.2
    """Seconds before the first retry; doubled each time (capped at 5 s)."""
    refresh: Refresh = "false"
    """Default refresh of writes: ``false`` (the /track path: searchable at the next periodic refresh),
    ``wait_for`` (block until searchable) or ``true``. Reads by id never need a refresh."""
    sortable: Literal["declared", "any"] = "declared"
    """Which paths queries may sort on: each index's declared fields (fast to index), or any path (every leaf
    also becomes a nested sort pair: several times slower to index). Filters work on any path either way."""
    shards: int = 1
    """Primary shards of each new index."""
    replicas: int = 1
    """Replicas of each new index."""
    event_partition: Literal["monthly", "none"] = "monthly"
    """Events in one index per month (by ``metadata.time.insert``) behind a read alias, or in one index."""
