"""Index names, aliases and templates: versioned indices behind aliases, events in monthly partitions.

Every kind of document lives in ``<prefix>.<name>.v<N>`` behind the alias ``<prefix>.<name>``, which readers and
writers use, so a migration can build ``v<N+1>`` and switch the alias atomically. Time-partitioned kinds (events)
live in ``<prefix>.<name>.v<N>-<YYYY>.<MM>`` (the month of the document's time field, ``none`` when it has no
time), all behind the same read alias for searches; each month also has its own alias ``<prefix>.<name>-<month>``
(its write index is the month's current version), which writes and reads by id use, so a migration switches a
month's two aliases atomically, like an unpartitioned kind's. A profile or a session is never partitioned: one id
is one document, whatever the index rollover.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tracardi.storage.errors import StorageError
from tracardi.storage.opensearch._encode import NESTED_LIMIT, mapping
from tracardi.storage.opensearch._options import OpenSearchOptions
from tracardi.storage.ports import Index

SCHEMA_VERSION = 1
NO_TIME = "none"
_MONTH = re.compile(r"-(?:\d{4}\.\d{2}|none)")


class IndexNames:
    """The names of one document kind in the cluster."""

    def __init__(self, index: Index[Any], prefix: str, time_field: str | None) -> None:
        if not index.name or index.name != index.name.lower() or any(c in index.name for c in ' ,*"<>|?/\\#:'):
            raise StorageError(f"invalid index name {index.name!r}")
        self.index = index
        self.alias = f"{prefix}.{index.name}"
        self.physical = f"{self.alias}.v{SCHEMA_VERSION}"
        self.time_field = time_field
        self.template = f"{prefix}-{index.name}-v{SCHEMA_VERSION}"
        self.sortable: frozenset[str] | None = None
        """The paths written as sort pairs; None: every path."""

    @property
    def partitioned(self) -> bool:
        return self.time_field is not None

    def partition(self, source: dict[str, Any]) -> str:
        """The month alias a document of a partitioned kind is written to, from its time field."""
        value: Any = source
        for key in (self.time_field or "").split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and len(value) >= 7:
            return f"{self.alias}-{value[:4]}.{value[5:7]}"
        return f"{self.alias}-{NO_TIME}"

    def month(self, now: datetime) -> str:
        """The month alias of a moment."""
        return f"{self.alias}-{now:%Y.%m}"

    def month_alias(self, physical: str) -> str:
        """The month alias of a partition index (``<alias>.v<N>-<month>`` -> ``<alias>-<month>``)."""
        return f"{self.alias}-{physical.rsplit('-', 1)[1]}"

    def is_month(self, alias: str) -> bool:
        """Whether ``alias`` is one of this kind's month aliases (not another kind's that shares the prefix)."""
        return _MONTH.fullmatch(alias[len(self.alias) :]) is not None and alias.startswith(self.alias)

    def first_partition(self, month_alias: str) -> str:
        """The physical index a new month starts in (the code's schema version)."""
        return f"{self.physical}-{month_alias.rsplit('-', 1)[1]}"


def spec(names: IndexNames) -> dict[str, Any]:
    """What the stored ``_q`` fields depend on, kept in the mapping's ``_meta``: a change needs ``migrate up``."""
    sortable = "any" if names.sortable is None else sorted(names.sortable)
    return {"schema": SCHEMA_VERSION, "sortable": sortable}


def index_body(options: OpenSearchOptions, aliases: dict[str, Any], names: IndexNames) -> dict[str, Any]:
    """Settings, the fixed mapping (with the spec in ``_meta``) and the aliases of a new index."""
    return {
        "settings": {
            "index": {
                "number_of_shards": options.shards,
                "number_of_replicas": options.replicas,
                "mapping": {"nested_objects": {"limit": NESTED_LIMIT}},
            }
        },
        "mappings": {**mapping(), "_meta": {"tracardi": spec(names)}},
        "aliases": aliases,
    }


def template_body(names: IndexNames, options: OpenSearchOptions) -> dict[str, Any]:
    """The index template that shapes every partition of a time-partitioned kind."""
    body = index_body(options, {names.alias: {}}, names)
    return {"index_patterns": [f"{names.physical}-*"], "template": body, "priority": 100}
