"""Searchable form of a document: every leaf as an ordered keyword, in one fixed mapping whatever the keys.

Free-form dicts (a profile's ``traits``, an event's ``properties``, ``context``, ``aux``, ``data``) must not grow
the index mapping: the 1,000-field limit is a known failure of the system we re-implement. So the document is
stored as ``_source`` under ``dynamic: false`` (nothing of it is mapped), and next to it the adapter writes ``_q``:

- ``_q.k``: one keyword per leaf value, ``<dot path>\x00<ordered key>``; filters (equality, membership, range
  within one type, existence as a prefix) on any path are term/terms/range/prefix queries on this one field;
- ``_q.s``: nested ``{p, o}`` pairs (path, ordered key) of the sortable paths, for nested sorts (missing last).
  Which paths: every leaf (``sortable = "any"``), or only the index's declared ``fields`` (``"declared"``: one
  Lucene document per stored document plus one per declared field, several times faster to index);
- ``_q.id``: the id, for tie-breaks and scans.

The ordered key of a value: booleans ``b0``/``b1``; numbers ``n`` + 16 hex digits of the float64 with its order
bits flipped (ints and floats compare as one type; integers beyond 2**53 lose precision); strings ``s`` + the
text (times are the UTC ISO-8601 strings msgspec writes, compared as text, as the embedded adapter does). Null
values and empty lists write nothing (they are "missing"); list elements each write one key (a list matches when
any element does); objects inside lists are walked like objects. Strings over ``MAX_TEXT`` characters (with
their path) are stored but cannot be matched.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import msgspec

from tracardi.storage.errors import InvalidQuery

KEYS = "_q.k"
SORT = "_q.s"
SORT_PATH = "_q.s.p"
SORT_KEY = "_q.s.o"
ID = "_q.id"
SEP = "\x00"
MAX_TEXT = 8000  # keyword ignore_above; Lucene's term limit is 32,766 bytes, 4 bytes a character at most
NESTED_LIMIT = 100_000

_FIELD = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")  # the embedded adapter's alphabet, kept in step
_MAX_FIELD = 256
SIGN = 0x8000_0000_0000_0000
ALL = 0xFFFF_FFFF_FFFF_FFFF


def check_field(field: object) -> str:
    """The field if it is a dot path of the allowed alphabet; InvalidQuery otherwise."""
    if not isinstance(field, str) or len(field) > _MAX_FIELD or not _FIELD.fullmatch(field):
        raise InvalidQuery(f"invalid field name: {field!r}")
    return field


def mapping() -> dict[str, Any]:
    """The one mapping of every index: the document unmapped, the adapter's ``_q`` fields typed."""
    return {
        "dynamic": False,
        "properties": {
            "_q": {
                "properties": {
                    "id": {"type": "keyword"},
                    "k": {"type": "keyword", "ignore_above": MAX_TEXT},
                    "s": {
                        "type": "nested",
                        "properties": {
                            "p": {"type": "keyword"},
                            "o": {"type": "keyword", "ignore_above": MAX_TEXT},
                        },
                    },
                }
            }
        },
    }


def number_key(value: float) -> str:
    """``n`` + hex digits that sort like the number."""
    bits = struct.unpack(">Q", struct.pack(">d", float(value) + 0.0))[0]  # + 0.0 turns -0.0 into 0.0
    bits = bits ^ ALL if bits & SIGN else bits | SIGN
    return f"n{bits:016x}"


def stored_key(value: object) -> str | None:
    """The ordered key of a decoded JSON scalar, None for null."""
    if value is None:
        return None
    if value is True:
        return "b1"
    if value is False:
        return "b0"
    if isinstance(value, int | float):
        return number_key(value)
    return "s" + str(value)


def query_key(value: object) -> str:
    """The ordered key a query value compares as; InvalidQuery for what documents cannot hold."""
    if isinstance(value, bool | str):
        return stored_key(value) or ""
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise InvalidQuery(f"integer out of range: {value}")
        return number_key(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidQuery(f"not a finite number: {value}")
        return number_key(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidQuery(f"naive datetime in a query (times are UTC and timezone-aware): {value!r}")
        return "s" + msgspec.json.encode(value.astimezone(UTC))[1:-1].decode()
    if isinstance(value, date):
        return "s" + value.isoformat()
    if isinstance(value, UUID):
        return "s" + str(value)
    raise InvalidQuery(f"unsupported query value of type {type(value).__name__}: {value!r}")


def leaves(value: Any, path: str, out: list[dict[str, str]]) -> None:
    """Append a ``{p, o}`` pair for every non-null scalar under ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            leaves(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for item in value:
            leaves(item, path, out)
    else:
        key = stored_key(value)
        if key is not None:
            out.append({"p": path, "o": key})


def searchable(source: dict[str, Any], doc_id: str, sortable: frozenset[str] | None) -> dict[str, Any]:
    """The document as stored: its own fields plus the adapter's ``_q`` (id, keys, sort pairs)."""
    kv: list[dict[str, str]] = []
    leaves(source, "", kv)
    keys = [pair["p"] + SEP + pair["o"] for pair in kv]
    pairs = kv if sortable is None else [pair for pair in kv if pair["p"] in sortable]
    source["_q"] = {"id": doc_id, "k": keys, "s": pairs}
    return source
