"""Terms and date-histogram aggregations in the query DSL over the ``_q.k`` keys (see ``_encode``).

No field of a document is mapped, so both aggregate the one keyword field ``_q.k``: ``terms`` keeps the keys of
one path with an ``include`` pattern and decodes each bucket's ordered key back to its value; a date histogram is
a ``filters`` aggregation with one key range per interval (a keyword cannot feed ``date_histogram``), which
also gives the empty intervals. Answers follow ``tracardi.storage.aggregations``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from tracardi.domain.query import And, Condition, Range
from tracardi.storage.aggregations import Span, TermBucket, TermKey, term_key
from tracardi.storage.errors import StorageError
from tracardi.storage.opensearch._encode import ALL, KEYS, SEP, SIGN, check_field
from tracardi.storage.opensearch._query import compile_where


def terms_body(field: str, where: Condition | None, size: int) -> dict[str, Any]:
    """The search body counting matches per value of ``field``, most frequent first, then by value."""
    pattern = check_field(field).replace(".", "\\.") + SEP + ".*"  # field names hold no other regex syntax
    order = [{"_count": "desc"}, {"_key": "asc"}]
    terms = {"field": KEYS, "include": pattern, "size": size, "order": order}
    return {"size": 0, "track_total_hits": False, "query": compile_where(where), "aggs": {"t": {"terms": terms}}}


def terms_answer(field: str, answer: dict[str, Any]) -> list[TermBucket]:
    """The buckets of a ``terms_body`` search."""
    prefix = field + SEP
    out = []
    for bucket in answer["aggregations"]["t"]["buckets"]:
        key: str = bucket["key"]
        if not key.startswith(prefix):
            raise StorageError(f"terms of {field!r} answered a key of another path: {key!r}")
        out.append(TermBucket(term_key(decode_key(key[len(prefix) :])), int(bucket["doc_count"])))
    return out


def histogram_body(field: str, where: Condition | None, spans: Sequence[Span]) -> dict[str, Any]:
    """The search body counting matches per interval, in order."""
    ranges = [compile_where(Range(field=field, gte=span.low, lt=span.high)) for span in spans]
    whole = Range(field=field, gte=spans[0].low, lt=spans[-1].high)
    query = compile_where(whole if where is None else And(items=(where, whole)))
    return {"size": 0, "track_total_hits": False, "query": query, "aggs": {"h": {"filters": {"filters": ranges}}}}


def histogram_answer(answer: dict[str, Any]) -> list[int]:
    """The count of each interval of a ``histogram_body`` search."""
    return [int(bucket["doc_count"]) for bucket in answer["aggregations"]["h"]["buckets"]]


def decode_key(key: str) -> TermKey:
    """The value of an ordered key (``_encode.stored_key``): booleans as 1/0, numbers as floats, strings."""
    kind, rest = key[:1], key[1:]
    if kind == "s":
        return rest
    if kind == "b":
        return int(rest == "1")
    if kind == "n":
        bits = int(rest, 16)
        bits = bits & ~SIGN if bits & SIGN else bits ^ ALL
        value: float = struct.unpack(">d", struct.pack(">Q", bits))[0]
        return value
    raise StorageError(f"not an ordered key: {key!r}")
