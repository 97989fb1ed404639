"""Date operations: now, add or subtract an interval, format, difference, day of the week, timezone shift.

Dates are read from references holding a datetime (profile and session times), an ISO 8601 string or a Unix
timestamp; a date without a timezone is taken as UTC. Dates are written as ISO 8601 strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from tracardi.engine.workflow.action import Action, ActionError, Fired, FlowContext, parse_ref
from tracardi.engine.workflow.actions._common import OUT_WITH_ERROR, RESULT, put, required
from tracardi.engine.workflow.actions._interval import parse_interval

DateOp = Literal["now", "add", "subtract", "format", "difference", "weekday", "timezone"]
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_NEEDS_SOURCE = frozenset({"add", "subtract", "format", "difference", "weekday", "timezone"})


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name[:100]!r}") from exc


class DateConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    operation: DateOp
    """now: the current time; add / subtract: ``source`` plus or minus ``interval``; format: ``source`` as
    ``format``; difference: ``other - source`` in ``unit``; weekday: ISO day of the week of ``source`` (Monday 1 to
    Sunday 7, in ``timezone``); timezone: ``source`` shifted to ``timezone``."""
    source: str | None = None
    """The date, e.g. ``profile@metadata.time.insert`` (every operation but ``now``)."""
    other: str | None = None
    """difference: the second date (none: now)."""
    interval: str = "0s"
    """add / subtract: e.g. ``30m``, ``2h 15m``, ``7d``."""
    format: str = "%Y-%m-%d %H:%M:%S"
    """format: a strftime pattern (after the shift to ``timezone``)."""
    timezone: str = "UTC"
    """An IANA zone (``Europe/Warsaw``) for now, format, weekday and timezone."""
    unit: Literal["seconds", "minutes", "hours", "days"] = "seconds"
    """difference: the unit of the result."""
    target: str = RESULT
    """Where the result goes (default ``payload@result``)."""

    def __post_init__(self) -> None:
        parse_ref(self.target, writable=True)
        for ref in (self.source, self.other):
            if ref is not None:
                parse_ref(ref)
        if self.operation in _NEEDS_SOURCE and self.source is None:
            raise ValueError(f"{self.operation} needs a source date")
        parse_interval(self.interval)
        _zone(self.timezone)
        if not self.format or len(self.format) > 200:
            raise ValueError("a format has 1 to 200 characters")


def to_datetime(value: Any, where: object) -> datetime:
    """A timezone-aware datetime from a datetime, an ISO string or a Unix timestamp (naive means UTC)."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str) and len(value) <= 64:
        try:
            found = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ActionError(f"{where} is not an ISO date: {value[:64]!r}") from exc
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            found = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ActionError(f"{where} is not a valid timestamp: {value}") from exc
    else:
        raise ActionError(f"{where} is not a date: {str(value)[:64]!r}")
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


class DateOperation(Action[DateConfig]):
    """Compute with dates and write the result (an ISO string, a formatted string or a number) to ``target``. A
    missing or unreadable date, or a result out of range, fires ``error``."""

    id = "date-operation"
    name = "Date operation"
    config_type = DateConfig
    outputs: ClassVar[tuple[str, ...]] = OUT_WITH_ERROR

    def __init__(self, config: DateConfig) -> None:
        super().__init__(config)
        self._source = parse_ref(config.source) if config.source is not None else None
        self._other = parse_ref(config.other) if config.other is not None else None
        self._target = parse_ref(config.target, writable=True)
        self._delta = parse_interval(config.interval)
        self._zone = _zone(config.timezone)

    async def run(self, payload: Any, ctx: FlowContext) -> Fired:
        try:
            return put(ctx, self._target, self._compute(ctx))
        except OverflowError as exc:
            raise ActionError("the date is out of range") from exc

    def _date(self, ctx: FlowContext, ref: Any) -> datetime:
        return ctx.now if ref is None else to_datetime(required(ctx, ref), ref)

    def _compute(self, ctx: FlowContext) -> Any:
        c = self.config
        if c.operation == "now":
            return ctx.now.astimezone(self._zone).isoformat()
        date = self._date(ctx, self._source)
        match c.operation:
            case "add":
                return (date + self._delta).isoformat()
            case "subtract":
                return (date - self._delta).isoformat()
            case "format":
                return date.astimezone(self._zone).strftime(c.format)
            case "difference":
                seconds = (self._date(ctx, self._other) - date) / timedelta(seconds=1)
                return seconds / _UNITS[c.unit]
            case "weekday":
                return date.astimezone(self._zone).isoweekday()
        return date.astimezone(self._zone).isoformat()
