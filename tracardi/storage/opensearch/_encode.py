"""Searchable form of a document: every leaf as a (path, ordered key) pair in one fixed nested mapping.

Free-form dicts (a profile's ``traits``, an event's ``properties``, ``context``, ``aux``, ``data``) must not grow
the index mapping: the 1,000-field limit is a known failure of the system we re-implement. So the document is
stored as ``_source`` under ``dynamic: false`` (nothing of it is mapped), and next to it the adapter writes
``_q.kv``: one nested ``{p, o}`` per leaf value, where ``p`` is the dot path (``traits.email``) and ``o`` an
order-preserving keyword of the value:

- booleans ``b0``/``b1``; numbers ``n`` + 16 hex digits of the float64 with its order bits flipped (ints and
  floats compare as one type; integers beyond 2**53 lose precision);
- strings ``s`` + the text; times are the UTC ISO-8601 strings msgspec writes, compared as text (as the
  embedded adapter does); strings longer than ``MAX_TEXT`` characters are stored but not matchable;
- null values and empty lists write nothing (they are "missing"); list elements each write one pair (a list
  matches when any element does); objects inside lists are walked like objects.

The mapping is the same for every index and never changes, whatever keys documents carry. Every path can be
matched for equality, membership, range (within one type) and existence, and sorted on (missing last), through
``nested`` queries and nested sorts. The price: one hidden nested document per leaf, so an index allows up to
``NESTED_LIMIT`` leaves per document.
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

KV = "_q.kv"
PATH = "_q.kv.p"
KEY = "_q.kv.o"
ID = "_q.id"
MAX_TEXT = 8000  # keyword ignore_above; Lucene's term limit is 32,766 bytes, 4 bytes a character at most
NESTED_LIMIT = 100_000

_FIELD = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")  # the embedded adapter's alphabet, kept in step
_MAX_FIELD = 256
_SIGN = 0x8000_0000_0000_0000
_ALL = 0xFFFF_FFFF_FFFF_FFFF


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
                    "kv": {
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
    bits = bits ^ _ALL if bits & _SIGN else bits | _SIGN
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


def searchable(source: dict[str, Any], doc_id: str) -> dict[str, Any]:
    """The document as stored: its own fields plus the adapter's ``_q`` (id and leaves)."""
    kv: list[dict[str, str]] = []
    leaves(source, "", kv)
    source["_q"] = {"id": doc_id, "kv": kv}
    return source
