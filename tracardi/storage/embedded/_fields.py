"""The column values of a document's declared fields, computed in Python when the document is prepared.

A declared scalar field (``Index.fields``) is kept in a column holding exactly what ``json_extract(doc, path)``
gives for the stored JSON, so queries read the column as they read the JSON: a missing path or null is NULL,
booleans are 1/0, integers and floats are numbers (an integer beyond 64 bits, or a non-finite float, as SQLite
or msgspec would store it), strings are text (times, dates and UUIDs as the strings msgspec writes), and objects
and arrays are their JSON text. The one difference: a string holding U+0000 is kept whole, where SQLite 3.40's
``json_extract`` cuts it at the NUL. A list field (``Index.multi``) is kept as the JSON text of its value
(NULL when missing or null), from which triggers keep the ``multi_values`` rows.

For a Struct class whose field types make a path's every step but the last a Struct (or a Struct or None), the
value is read with one attribute chain compiled once per class. Otherwise the value is read from the document
itself by walking the dot path through Structs (by their JSON field names,
tag fields included) and dicts. A document the walk cannot read exactly as its JSON (a Struct that omits
defaults or encodes as an array, a dict with non-string keys, an unknown container) is read from its encoded
JSON instead, decoded into plain Python values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import partial
from operator import attrgetter
from typing import Any, get_args
from uuid import UUID

import msgspec

Extract = Callable[[Any, bytes], tuple[Any, ...]]

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_NOT_OBJECTS = (list, tuple, set, frozenset, str, bytes, bytearray, int, float, datetime, date, time, timedelta)
_NOT_OBJECTS_TOO = (UUID, Decimal, Enum)


class _Inexact(Exception):
    """The walk cannot tell what the JSON holds at a path; read the encoded JSON instead."""


class _StructKeys:
    """JSON key -> attribute of one Struct class (and its tag), or None when its JSON is not an object of its fields."""

    __slots__ = ("attrs", "tag", "tag_field")

    def __init__(self, cls: type[msgspec.Struct]) -> None:
        config = cls.__struct_config__
        self.attrs: dict[str, str] | None = None
        self.tag_field = config.tag_field
        self.tag = config.tag
        if not (config.array_like or config.omit_defaults):
            self.attrs = {f.encode_name: f.name for f in msgspec.structs.fields(cls)}


_KEYS: dict[type, _StructKeys] = {}


def extractor(fields: Sequence[str], multi: Sequence[str], encoder: msgspec.json.Encoder) -> Extract:
    """A function of (document, its encoded JSON) giving the values of ``fields`` then of ``multi``."""
    plan = [(tuple(f.split(".")), _sql_value) for f in fields] + [(tuple(f.split(".")), _json_text) for f in multi]
    encode = encoder.encode
    compiled: dict[type, list[tuple[Callable[[Any], Any], Convert]] | None] = {}

    def extract(doc: Any, text: bytes) -> tuple[Any, ...]:
        kind = type(doc)
        getters = compiled.get(kind, _UNSEEN)
        if getters is _UNSEEN:
            getters = compiled[kind] = _compile(kind, plan)
        try:
            if getters is not None:
                return tuple([convert(get(doc), encode) for get, convert in getters])
            return tuple([convert(_walk(doc, path), encode) for path, convert in plan])
        except _Inexact:
            plain = msgspec.json.decode(text)
            return tuple([convert(_walk(plain, path), encode) for path, convert in plan])

    return extract


Convert = Callable[[Any, Callable[[Any], bytes]], Any]
_UNSEEN: Any = object()


def _compile(
    kind: type, plan: list[tuple[tuple[str, ...], Convert]]
) -> list[tuple[Callable[[Any], Any], Convert]] | None:
    """Getters for a Struct class, one per path: an attribute chain where the path's types make one exact (every
    step but the last a field whose type is a Struct or a Struct or None), else the walk. None for other types."""
    if not isinstance(kind, type) or not issubclass(kind, msgspec.Struct):
        return None
    return [(_chain(kind, path) or partial(_walk, path=path), convert) for path, convert in plan]


def _chain(kind: type[msgspec.Struct], path: tuple[str, ...]) -> Callable[[Any], Any] | None:
    attrs: list[str] = []
    cls: Any = kind
    for i, key in enumerate(path):
        if cls is None:
            return None
        keys = _StructKeys(cls)
        if keys.attrs is None or key == keys.tag_field or key not in keys.attrs:
            return None
        attrs.append(keys.attrs[key])
        if i < len(path) - 1:
            cls = _struct_of(next(f.type for f in msgspec.structs.fields(cls) if f.encode_name == key))
    get = attrgetter(".".join(attrs))
    if len(attrs) == 1:
        return get

    def chain(doc: Any) -> Any:
        try:
            return get(doc)
        except AttributeError:  # a None on the way (the types allow nothing else): json_extract gives NULL
            return None

    return chain


def _struct_of(annotation: Any) -> type[msgspec.Struct] | None:
    """The Struct class of a field typed ``S`` or ``S | None``; None for any other type."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if len(args) == 1 and type(None) in get_args(annotation):
        return _struct_of(args[0])
    return None


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` (None when missing); _Inexact when the JSON is not sure to look like the walk."""
    for key in path:
        keys = _KEYS.get(type(value))
        if keys is None:
            if value is None:
                return None
            if type(value) is dict or not isinstance(value, msgspec.Struct):
                value = _member(value, key)
                continue
            keys = _KEYS[type(value)] = _StructKeys(type(value))
        attrs = keys.attrs
        if attrs is None:
            raise _Inexact
        attr = attrs.get(key)
        if attr is not None:
            value = getattr(value, attr)
        elif key == keys.tag_field:
            value = keys.tag
        else:
            return None
    return value


def _member(value: Any, key: str) -> Any:
    """A member of a value that is not a Struct: a dict's (None when missing), nothing of a JSON scalar or array."""
    if isinstance(value, dict):
        found = value.get(key, _inexact_if_missing)
        if found is not _inexact_if_missing:
            return found
        if any(type(k) is not str for k in value):
            raise _Inexact  # a key such as 1 is written "1"
        return None
    if isinstance(value, (_NOT_OBJECTS, _NOT_OBJECTS_TOO)):
        return None
    raise _Inexact


def _inexact_if_missing() -> None:
    """A sentinel (never called)."""


def _sql_value(value: Any, encode: Callable[[Any], bytes]) -> Any:
    """What ``json_extract`` returns for the JSON msgspec writes for ``value``."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return None
    if kind is bool:
        return int(value)
    if kind is int:
        return value if _INT_MIN <= value <= _INT_MAX else float(value)
    if kind is float:
        return value if math.isfinite(value) else None
    raw = encode(value)
    if kind is datetime:
        return raw[1:-1].decode()  # an ISO string: no escapes
    if raw[:1] in (b"{", b"["):
        return raw.decode()
    plain = msgspec.json.decode(raw)  # a string, number, bool or null: one of the cases above
    return None if plain is None else _sql_value(plain, encode)


def _json_text(value: Any, encode: Callable[[Any], bytes]) -> str | None:
    """The JSON text of a list field's value, NULL when it is missing or null."""
    return None if value is None else encode(value).decode()
