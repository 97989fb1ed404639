"""Imports of foreign data: where an import reads, how each row maps onto a profile or an event, its progress.

An import reads rows (a CSV file, a JSON-lines file, or the documents of another OpenSearch/Elasticsearch index),
maps each through ``mapping`` (a source column or dot path -> a target dot path, with a simple conversion), builds
the profile or event, and writes it. Row ids that the mapping does not give are derived from the import id and the
row's line number, so writing a row twice writes the same document: a resumed import never duplicates a row.
This module holds the shapes, their checks and the presets; ``import_rows`` turns one row into a document.
"""

from __future__ import annotations

import codecs
import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec

from tracardi.domain import dotpath
from tracardi.domain.errors import FieldError
from tracardi.domain.event import Event
from tracardi.domain.profile import Profile

Target = Literal["profiles", "events"]
Conversion = Literal["auto", "str", "int", "float", "bool", "datetime", "json", "list"]
Status = Literal["queued", "running", "done", "failed"]

MAX_BATCH = 10_000
MAX_MAPPING = 500
MAX_PATH = 512
_ID_SPACE = uuid.UUID("6f2c1a9e-5d7b-4c1e-9a43-0b8e7d3f2a10")  # namespace of the ids derived from import + line


class FieldMap(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One mapping entry: the value of ``source`` (a CSV column, or a dot path into a JSON row) goes to ``target``
    (a dot path of the stored profile or event) after the conversion ``type``."""

    source: str
    target: str
    type: Conversion = "auto"


class CsvSource(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="csv", tag_field="kind"):
    """A CSV file with a header line; ``path`` is relative to the import folder (admin API)."""

    path: str
    delimiter: str = ","
    encoding: str = "utf-8"


class JsonLinesSource(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="jsonl", tag_field="kind"
):
    """A file of JSON objects, one per line; ``path`` is relative to the import folder (admin API)."""

    path: str
    encoding: str = "utf-8"


class IndexSource(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="index", tag_field="kind"):
    """The documents of an index (or alias, or pattern) of another OpenSearch/Elasticsearch cluster, in id order."""

    url: str
    index: str
    username: str = ""
    password: str = ""
    api_key: str = ""
    verify_certs: bool = True
    query: dict[str, Any] = {}
    """An optional query DSL object selecting the documents (default: all)."""

    def redacted(self) -> IndexSource:
        """The same without credentials (what the import record keeps)."""
        hidden = "********"
        return msgspec.structs.replace(
            self, password=hidden if self.password else "", api_key=hidden if self.api_key else ""
        )


Source = CsvSource | JsonLinesSource | IndexSource


class ImportSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to import, into what, and how."""

    source: Source
    target: Target
    mapping: list[FieldMap] = []
    preset: str = ""
    """A named mapping applied before ``mapping`` (see ``PRESETS``), e.g. ``tracardi-profile``."""
    batch_size: int = 500
    """Rows per batch: each batch is written in one bulk write with its checkpoint."""
    source_id: str = "import"
    """Events: the event source recorded on each event (and, with ``track``, the source the tracker checks)."""
    track: bool = False
    """Events: run each row through the tracker (profiles, sessions, rules) instead of writing it directly."""
    rows_per_second: float = 0
    """Throttle, so an import does not starve the collector; 0: as fast as it goes."""

    def mappings(self) -> list[FieldMap]:
        """The preset's entries, then the spec's own (a later entry for the same target wins)."""
        return [*PRESETS[self.preset][1], *self.mapping] if self.preset else list(self.mapping)

    def redacted(self) -> ImportSpec:
        if isinstance(self.source, IndexSource):
            return msgspec.structs.replace(self, source=self.source.redacted())
        return self


class Checkpoint(msgspec.Struct, kw_only=True):
    """Where the next batch starts: lines (or documents) consumed, bytes consumed, and the last index sort key."""

    line: int = 0
    offset: int = 0
    after: str = ""


class ImportRecord(msgspec.Struct, kw_only=True):
    """An import's state, stored under its id and updated after every batch."""

    id: str
    spec: ImportSpec
    status: Status = "queued"
    created: datetime
    updated: datetime
    started: datetime | None = None
    ended: datetime | None = None
    size: int = 0
    """Bytes of the file, or documents in the index; ``checkpoint.offset`` counts the same unit."""
    read: int = 0
    imported: int = 0
    failed: int = 0
    checkpoint: Checkpoint = msgspec.field(default_factory=Checkpoint)
    slice: int = 0
    """Which worker job runs the import now (a long import runs as a chain of bounded jobs)."""
    error: str = ""


class RowError(msgspec.Struct, kw_only=True):
    """A row that could not be imported: its line (or document position) and why."""

    id: str
    import_id: str
    line: int
    error: str
    row: str = ""
    """The start of the row as read, for the operator."""


def import_doc_id(import_id: str, line: int) -> str:
    """The id of the document built from ``line`` of an import: the same for every attempt at that row."""
    return str(uuid.uuid5(_ID_SPACE, f"{import_id}:{line}"))


def row_error_id(import_id: str, line: int) -> str:
    return f"{import_id}:{line:012d}"


# -- checking a spec -------------------------------------------------------------------------------------------


def _struct_of(info: Any) -> msgspec.inspect.StructType | None:
    """The Struct inside a type (or an optional or union of it), else None."""
    if isinstance(info, msgspec.inspect.UnionType):
        return next((m for m in info.types if isinstance(m, msgspec.inspect.StructType)), None)
    return info if isinstance(info, msgspec.inspect.StructType) else None


def _path_problem(doc_type: type, path: str) -> str:
    """Why ``path`` cannot be set on ``doc_type`` (empty when it can): typed parts must name real fields."""
    try:
        parts = dotpath.split(path)
    except ValueError:
        return "not a dot path"
    info: Any = msgspec.inspect.type_info(doc_type)
    for depth, part in enumerate(parts):
        struct = _struct_of(info)
        if struct is None:
            return ""  # below a free-form dict (traits, properties, ...) any key goes
        fields = {f.name: f.type for f in struct.fields}
        if part not in fields:
            where = ".".join(parts[:depth]) or doc_type.__name__.lower()
            return f"{where} has no field {part!r} (fields: {', '.join(sorted(fields))})"
        info = fields[part]
    return ""


def _encoding_problem(encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return f"unknown encoding {encoding!r}"
    if "\n".encode(encoding, "ignore") != b"\n":
        return f"encoding {encoding!r} is not line-compatible with ASCII (use utf-8, latin-1, cp1252, ...)"
    return ""


def _source_problems(source: Source) -> list[FieldError]:
    out: list[FieldError] = []
    loc = ["body", "source"]
    if isinstance(source, CsvSource | JsonLinesSource):
        if not source.path or "\x00" in source.path or len(source.path) > 4096:
            out.append(FieldError([*loc, "path"], "a file path (no NUL, at most 4096 characters)"))
        problem = _encoding_problem(source.encoding)
        if problem:
            out.append(FieldError([*loc, "encoding"], problem))
    if isinstance(source, CsvSource) and (len(source.delimiter) != 1 or source.delimiter in '\r\n"\x00'):
        out.append(FieldError([*loc, "delimiter"], "one character, not a quote or a line break"))
    if isinstance(source, IndexSource):
        if not source.url.startswith(("http://", "https://")) or len(source.url) > 2048:
            out.append(FieldError([*loc, "url"], "an http(s) URL"))
        if not source.index or len(source.index) > 255 or any(c in source.index for c in "/\\ ?#\x00"):
            out.append(FieldError([*loc, "index"], "an index name, alias or pattern"))
    return out


def _mapping_problems(spec: ImportSpec) -> list[FieldError]:
    out: list[FieldError] = []
    if spec.preset:
        if spec.preset not in PRESETS:
            out.append(FieldError(["body", "preset"], f"one of {', '.join(sorted(PRESETS))}"))
        elif PRESETS[spec.preset][0] != spec.target:
            out.append(FieldError(["body", "preset"], f"{spec.preset} imports {PRESETS[spec.preset][0]}"))
    elif not spec.mapping:
        out.append(FieldError(["body", "mapping"], "at least one entry (or a preset)"))
    if len(spec.mapping) > MAX_MAPPING:
        out.append(FieldError(["body", "mapping"], f"at most {MAX_MAPPING} entries"))
    doc_type: type = Profile if spec.target == "profiles" else Event
    for n, entry in enumerate(spec.mapping[:MAX_MAPPING]):
        if not entry.source or len(entry.source) > MAX_PATH:
            out.append(FieldError(["body", "mapping", n, "source"], f"1 to {MAX_PATH} characters"))
        problem = "too long" if len(entry.target) > MAX_PATH else _path_problem(doc_type, entry.target)
        if problem:
            out.append(FieldError(["body", "mapping", n, "target"], problem))
    return out


def check_spec(spec: ImportSpec) -> list[FieldError]:
    """Every problem of a spec, each naming its field (empty when it can run)."""
    out = [*_source_problems(spec.source), *_mapping_problems(spec)]
    if not 1 <= spec.batch_size <= MAX_BATCH:
        out.append(FieldError(["body", "batch_size"], f"from 1 to {MAX_BATCH}"))
    if spec.rows_per_second < 0:
        out.append(FieldError(["body", "rows_per_second"], "0 (unlimited) or more"))
    if spec.target == "events" and not (spec.source_id.strip() and len(spec.source_id) <= 255):
        out.append(FieldError(["body", "source_id"], "an event source id"))
    if spec.track and spec.target != "events":
        out.append(FieldError(["body", "track"], "only events run through the tracker"))
    return out


# -- presets: an old Tracardi installation's indices -------------------------------------------------------------

_PROFILE_FIELDS = ("id", "primary_id", "ids", "metadata", "stats", "traits", "segments", "interests", "consents")
_PROFILE_FIELDS_MORE = ("active", "aux", "data")
# Tracardi <= 0.7.4 kept personal data under ``pii``; 0.8.1 moved it to ``data``
_PROFILE_07: tuple[tuple[str, str, Conversion], ...] = (
    ("pii.name", "data.pii.firstname", "auto"),
    ("pii.surname", "data.pii.lastname", "auto"),
    ("pii.birth_date", "data.pii.birthday", "datetime"),
    ("pii.marital_status", "data.pii.civil.status", "auto"),
    ("pii.email", "data.contact.email.main", "auto"),
    ("pii.telephone", "data.contact.phone.main", "auto"),
    ("pii.whatsapp", "data.contact.phone.whatsapp", "auto"),
    ("pii.twitter", "data.media.social.twitter", "auto"),
    ("pii.facebook", "data.media.social.facebook", "auto"),
)
_EVENT_FIELDS = (
    "id",
    "type",
    "name",
    "metadata",
    "source",
    "session",
    "profile",
    "properties",
    "traits",
    "context",
    "request",
    "config",
    "tags",
    "utm",
    "os",
    "app",
    "device",
    "hit",
    "journey",
    "data",
    "aux",
)

PRESETS: dict[str, tuple[Target, tuple[FieldMap, ...]]] = {
    "tracardi-profile": (
        "profiles",
        (
            *(FieldMap(source=f, target=f) for f in (*_PROFILE_FIELDS, *_PROFILE_FIELDS_MORE)),
            *(FieldMap(source=s, target=t, type=k) for s, t, k in _PROFILE_07),
        ),
    ),
    "tracardi-event": ("events", tuple(FieldMap(source=f, target=f) for f in _EVENT_FIELDS)),
}
"""Mappings of the documents of an old Tracardi's profile and event indices (0.7 to 0.9) onto ours."""
