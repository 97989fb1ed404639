"""Checks of profiling configuration on save: each raises InvalidInput naming the field, or returns the normal form."""

from __future__ import annotations

import re
from collections.abc import Sized

import msgspec

from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.event import normalize_event_type
from tracardi.domain.identity import MergeKeys
from tracardi.domain.mapping import EventToProfile, MappingPair
from tracardi.domain.paths import event_path, profile_path
from tracardi.domain.reshape import EventReshaping
from tracardi.domain.segment import Segment, machine_name
from tracardi.domain.validation import EventSchema
from tracardi.engine.profiling._conditions import check_condition
from tracardi.engine.profiling._schemas import check_schema

_ID = re.compile(r"[a-z0-9][a-z0-9._:-]{0,127}")
MAX_ITEMS = 100
MAX_MERGE_KEYS = 10

Loc = tuple[str | int, ...]


def _fail(loc: Loc, msg: str) -> InvalidInput:
    return InvalidInput(f"Invalid {'.'.join(str(p) for p in loc[1:])}: {msg}", [FieldError(loc, msg)])


def _id(value: str) -> str:
    doc_id = value.strip().lower()
    if not _ID.fullmatch(doc_id):
        raise _fail(("body", "id"), "1 to 128 of a-z, 0-9, '.', '_', ':', '-', starting with a letter or digit")
    return doc_id


def _event_type(value: str, loc: Loc = ("body", "event_type")) -> str:
    etype = normalize_event_type(value)
    if not etype or len(etype) > 128:
        raise _fail(loc, "must be 1 to 128 characters")
    return etype


def _source(value: str) -> str:
    return value.strip().lower()


def _event(text: str, loc: Loc, *, writable: bool = False) -> str:
    try:
        return event_path(text, writable=writable)
    except ValueError as exc:
        raise _fail(loc, str(exc)) from exc


def _profile(text: str, loc: Loc) -> str:
    try:
        return profile_path(text)
    except ValueError as exc:
        raise _fail(loc, str(exc)) from exc


def _count(items: Sized, loc: Loc, minimum: int = 0) -> None:
    if not minimum <= len(items) <= MAX_ITEMS:
        raise _fail(loc, f"must have {minimum} to {MAX_ITEMS} entries")


def check_segment(doc: Segment) -> Segment:
    name = doc.name.strip()
    if not machine_name(name) or len(name) > 128:
        raise _fail(("body", "name"), "must be 1 to 128 characters")
    if not doc.condition.strip():
        raise _fail(("body", "condition"), "must not be empty")
    check_condition(doc.condition, ("body", "condition"))
    _count(doc.event_types, ("body", "event_types"))
    types = [_event_type(t, ("body", "event_types", i)) for i, t in enumerate(doc.event_types)]
    return msgspec.structs.replace(doc, id=_id(doc.id), name=name, event_types=list(dict.fromkeys(types)))


def check_mapping(doc: EventToProfile) -> EventToProfile:
    _count(doc.mappings, ("body", "mappings"), minimum=1)
    pairs = [
        MappingPair(
            event=_event(pair.event, ("body", "mappings", i, "event")),
            profile=_profile(pair.profile, ("body", "mappings", i, "profile")),
            op=pair.op,
        )
        for i, pair in enumerate(doc.mappings)
    ]
    if doc.condition.strip():
        check_condition(doc.condition, ("body", "condition"))
    return msgspec.structs.replace(doc, id=_id(doc.id), event_type=_event_type(doc.event_type), mappings=pairs)


def _moves(moves: dict[str, str], field: str) -> dict[str, str]:
    _count(moves, ("body", field))
    return {
        _event(src, ("body", field, src)): _event(dst, ("body", field, src), writable=True)
        for src, dst in moves.items()
    }


def check_reshaping(doc: EventReshaping) -> EventReshaping:
    copies, renames = _moves(doc.copy, "copy"), _moves(doc.rename, "rename")
    new_type = _event_type(doc.type, ("body", "type")) if doc.type.strip() else ""
    if not (copies or renames or new_type):
        raise _fail(("body", "copy"), "a reshaping needs copy, rename or type")
    return msgspec.structs.replace(
        doc,
        id=_id(doc.id),
        event_type=_event_type(doc.event_type),
        source_id=_source(doc.source_id),
        copy=copies,
        rename=renames,
        type=new_type,
    )


def check_event_schema(doc: EventSchema) -> EventSchema:
    path = _event(doc.path, ("body", "path"))
    check_schema(doc.schema, ("body", "schema"))
    return msgspec.structs.replace(
        doc, id=_id(doc.id), event_type=_event_type(doc.event_type), source_id=_source(doc.source_id), path=path
    )


def check_merge_keys(doc: MergeKeys) -> MergeKeys:
    if len(doc.keys) > MAX_MERGE_KEYS:
        raise _fail(("body", "keys"), f"at most {MAX_MERGE_KEYS} keys")
    keys = [_profile(key, ("body", "keys", i)) for i, key in enumerate(doc.keys)]
    return MergeKeys(keys=list(dict.fromkeys(keys)))
