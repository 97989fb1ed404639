"""Terms and date-histogram aggregations of the documents port: the answer types and the bucket arithmetic.

Both adapters answer the same way, so what an admin chart shows does not depend on the backend:

- ``terms``: the most frequent values of a field among the matching documents, most frequent first, ties by value.
  A list field counts each document once per distinct element; null and missing values are not counted; objects
  are not values. Numbers come back as ``int`` when integral (``4.0`` is ``4``), booleans as ``1``/``0`` (as the
  query language compares them), times as the UTC ISO-8601 strings documents hold.
- ``date_histogram``: document counts per calendar interval (UTC; weeks start on Monday) of a time field, for
  every interval that overlaps ``[since, until)``, empty ones included, oldest first. Times compare as the
  ISO-8601 text documents hold, so ``since`` is taken down and ``until`` up to the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tracardi.storage.errors import InvalidQuery

Interval = Literal["hour", "day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("hour", "day", "week", "month")
MAX_BUCKETS = 1000
MAX_TERMS = 1000

TermKey = str | int | float


@dataclass(frozen=True, slots=True)
class TermBucket:
    """One value of a field and how many matching documents hold it."""

    key: TermKey
    count: int


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """How many matching documents have their time in ``[start, end)``."""

    start: datetime
    end: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Span:
    """One interval of a histogram: its aligned start and end, and the text bounds that select it."""

    start: datetime
    end: datetime
    low: str
    high: str


def check_size(size: object) -> int:
    """The number of terms asked for, or InvalidQuery."""
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_TERMS:
        raise InvalidQuery(f"size must be an integer from 1 to {MAX_TERMS}, not {size!r}")
    return size


def term_key(value: object) -> TermKey:
    """A bucket key in the common form: integral numbers as int, booleans as 1/0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, int | float | str):
        return value
    raise InvalidQuery(f"cannot aggregate a value of type {type(value).__name__}")


def spans(interval: object, since: object, until: object) -> list[Span]:
    """The intervals overlapping ``[since, until)``; InvalidQuery for a bad interval, range or too many buckets."""
    if interval not in INTERVALS:
        raise InvalidQuery(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    low, high = _second(since, "since"), _second(until, "until", up=True)
    if low >= high:
        raise InvalidQuery("since must be before until")
    out: list[Span] = []
    start = _floor(low, interval)
    while start < high:
        end = _next(start, interval)
        out.append(Span(start, end, _text(max(start, low)), _text(min(end, high))))
        if len(out) > MAX_BUCKETS:
            raise InvalidQuery(f"more than {MAX_BUCKETS} {interval} buckets between since and until")
        start = end
    return out


def _second(value: object, name: str, *, up: bool = False) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidQuery(f"{name} must be a timezone-aware datetime, not {value!r}")
    whole = value.astimezone(UTC).replace(microsecond=0)
    return whole + timedelta(seconds=1) if up and whole != value else whole


def _text(when: datetime) -> str:
    """A bound that sorts before every stored form of that second (``...:00Z``, ``...:00.5Z``) and after the last."""
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _floor(when: datetime, interval: Interval) -> datetime:
    if interval == "hour":
        return when.replace(minute=0, second=0)
    day = when.replace(hour=0, minute=0, second=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next(start: datetime, interval: Interval) -> datetime:
    if interval == "hour":
        return start + timedelta(hours=1)
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(weeks=1)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
