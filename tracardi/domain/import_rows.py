"""One row of an import: convert its values, map them onto a nested dict, and build the profile or event.

Pure functions, run for every row: the mapping's paths are split once (``compile_mapping``), and every failure is a
``RowProblem`` whose message names the column or field, so the row is reported and the import goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from tracardi.domain import dotpath
from tracardi.domain.event import Event, event_name, normalize_event_type
from tracardi.domain.imports import Conversion, FieldMap
from tracardi.domain.payload import EventPayload, EventPayloadTime, OptionalRef, SourceRef, TrackerPayload
from tracardi.domain.profile import Profile


class RowProblem(Exception):
    """This row cannot be imported; the message says why."""


_TRUE = frozenset({"true", "1", "yes", "y", "t", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "f", "off"})


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value  # epoch milliseconds when that large
        return datetime.fromtimestamp(seconds, UTC)
    parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {str(value)[:50]!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"not a whole number: {value}")
        return int(value)
    return int(str(value).strip()) if not isinstance(value, int) else value


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    number = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return number


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value).split(",") if part.strip()]


def convert(value: Any, kind: Conversion) -> Any:
    """``value`` converted; raises ValueError (or a DecodeError for ``json``) when it cannot be."""
    match kind:
        case "auto":
            return value
        case "str":
            return value if isinstance(value, str) else msgspec.json.encode(value).decode()
        case "int":
            return _to_int(value)
        case "float":
            return _to_float(value)
        case "bool":
            return _to_bool(value)
        case "datetime":
            return _to_datetime(value)
        case "json":
            return msgspec.json.decode(value) if isinstance(value, str | bytes) else value
        case "list":
            return _to_list(value)


class CompiledMap(msgspec.Struct, frozen=True):
    """A mapping entry with its target path split once (``map_row`` runs it for every row)."""

    source: str
    nested_source: bool
    target: tuple[str, ...]
    type: Conversion


def compile_mapping(mapping: list[FieldMap]) -> list[CompiledMap]:
    """The entries ready for ``map_row``; raises ValueError for a target that is not a dot path."""
    return [CompiledMap(e.source, "." in e.source, tuple(dotpath.split(e.target)), e.type) for e in mapping]


def _lookup(row: Mapping[str, Any], entry: CompiledMap) -> Any:
    if entry.source in row:
        return row[entry.source]
    return dotpath.get(row, entry.source) if entry.nested_source else dotpath.MISSING


def _put(out: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        nxt = out.get(key)
        if not isinstance(nxt, dict):
            if nxt is not None:
                raise RowProblem(f"{'.'.join(path)}: {key!r} is already set to a value, not an object")
            nxt = out[key] = {}
        out = nxt
    out[path[-1]] = value


def map_row(row: Mapping[str, Any], mapping: list[CompiledMap]) -> dict[str, Any]:
    """The target document's fields as a nested dict; missing, null and empty-string values set nothing."""
    out: dict[str, Any] = {}
    for entry in mapping:
        value = _lookup(row, entry)
        if value is dotpath.MISSING or value is None or value == "":
            continue
        try:
            converted = convert(value, entry.type)
        except (ValueError, TypeError, OverflowError, RecursionError, msgspec.DecodeError) as exc:
            raise RowProblem(f"{entry.source}: cannot convert to {entry.type}: {exc}") from exc
        _put(out, entry.target, converted)
    return out


def _build(fields: dict[str, Any], kind: type[Any]) -> Any:
    try:
        return msgspec.convert(fields, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise RowProblem(str(exc).replace("$.", "")) from exc
    except RecursionError as exc:
        raise RowProblem("nested too deeply") from exc


def build_profile(fields: dict[str, Any], *, default_id: str, now: datetime) -> Profile:
    """A profile from mapped fields: the id defaults to ``default_id``; the insert time to ``now``."""
    if isinstance(fields.get("id"), int | float):
        fields["id"] = str(fields["id"])
    fields.setdefault("id", default_id)
    profile: Profile = _build(fields, Profile)
    profile.id = profile.id.strip()
    if not profile.id:
        raise RowProblem("id: empty")
    if profile.id not in profile.ids:
        profile.ids.insert(0, profile.id)
    times = profile.metadata.time
    times.insert = times.insert or times.create or now
    times.create = times.create or times.insert
    return profile


def build_event(fields: dict[str, Any], *, default_id: str, source_id: str, now: datetime) -> Event:
    """An event from mapped fields: ``type`` is required; id, source and insert time have defaults."""
    if not str(fields.get("type") or "").strip():
        raise RowProblem("type: missing (map a column to `type`)")
    fields["type"] = normalize_event_type(str(fields["type"]))
    fields.setdefault("id", default_id)
    fields.setdefault("source", {"id": source_id})
    event: Event = _build(fields, Event)
    event.id = event.id.strip().lower()
    if not event.id:
        raise RowProblem("id: empty")
    event.name = event.name or event_name(event.type)
    times = event.metadata.time
    times.insert = times.insert or times.create or now
    times.create = times.create or times.insert
    return event


def tracker_payload(event: Event) -> TrackerPayload:
    """The /track payload that makes the tracker store ``event`` (its id, type, data, profile and session)."""
    times = event.metadata.time
    return TrackerPayload(
        source=SourceRef(id=event.source.id),
        profile=OptionalRef(id=event.profile.id) if event.profile else None,
        session=OptionalRef(id=event.session.id) if event.session else None,
        events=[
            EventPayload(
                type=event.type,
                id=event.id,
                time=EventPayloadTime(insert=times.insert, create=times.create),
                properties=event.properties,
                context=event.context or None,
                options=event.config or None,
                tags=event.tags.values or None,
            )
        ],
    )
