"""Event statistics for the admin API: counts by event type and a histogram over time, filterable.

``GET /api/events/count-by-type`` and ``GET /api/events/histogram`` read the documents port's terms and
date-histogram aggregations, so they answer the same on the embedded store and on OpenSearch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_params, services
from tracardi.api.routes.admin._auth import admin
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.engine import EventFilter
from tracardi.storage import INTERVALS, InvalidQuery

MAX_ID = 512
# how far back a histogram reaches when the caller gives no ``since``
DEFAULT_SPAN: dict[str, timedelta] = {
    "hour": timedelta(days=1),
    "day": timedelta(days=30),
    "week": timedelta(weeks=12),
    "month": timedelta(days=365),
}


def _bad(name: str, detail: str) -> InvalidInput:
    return InvalidInput(f"{name}: {detail}", [FieldError(["query", name], detail)])


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > MAX_ID:
        raise _bad(name, f"at most {MAX_ID} characters")
    return value or None


def _time(request: Request, name: str) -> datetime | None:
    """An ISO-8601 time; a time without an offset is read as UTC."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        if len(raw) > 64:
            raise ValueError(raw)
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad(name, "an ISO-8601 time, e.g. 2024-05-01T00:00:00Z") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _filter(request: Request) -> EventFilter:
    since, until = _time(request, "since"), _time(request, "until")
    if since and until and since >= until:
        raise _bad("since", "must be before until")
    return EventFilter(
        source_id=_text(request, "source"),
        profile_id=_text(request, "profile"),
        event_type=_text(request, "type"),
        since=since,
        until=until,
    )


@admin
async def count_by_type(request: Request) -> Response:
    """How many events of each type, most frequent first (``limit`` types)."""
    which = _filter(request)
    limit, _ = page_params(request)
    buckets = await services(request).records.event_types(which, limit=limit)
    return json_response({"items": [{"type": b.key, "count": b.count} for b in buckets]})


@admin
async def histogram(request: Request) -> Response:
    """How many events per hour, day, week or month (UTC) over ``[since, until)``, empty intervals included."""
    interval = request.query_params.get("interval", "day")
    if interval not in INTERVALS:
        raise _bad("interval", f"one of {', '.join(INTERVALS)}")
    which = _filter(request)
    until = which.until or datetime.now(UTC)
    since = which.since or until - DEFAULT_SPAN[interval]
    if since >= until:
        raise _bad("since", "must be before until")
    try:
        buckets = await services(request).records.event_histogram(which, interval=interval, since=since, until=until)
    except InvalidQuery as exc:  # too many intervals between since and until
        raise _bad("since", str(exc)) from exc
    items = [{"start": b.start, "end": b.end, "count": b.count} for b in buckets]
    return json_response({"interval": interval, "since": since, "until": until, "items": items})


routes = [
    Route("/events/count-by-type", count_by_type, methods=["GET"]),
    Route("/events/histogram", histogram, methods=["GET"]),
]
