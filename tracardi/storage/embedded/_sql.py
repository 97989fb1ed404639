"""Names and SQL text of one index, validated and built once when the store is constructed.

Field names reach SQL only as JSON path literals and column names built here from a whitelisted alphabet
(letters, digits, ``_``, ``-``, dots between segments); every value is a bound parameter.

An index's table is ``(id, version, doc, <columns>)``: the document as JSON text, then one column per declared
field (``f_...``, its value as ``json_extract`` reads it) and per list field (``m_...``, its JSON text), filled
by the writer from values computed in Python (``_fields``), so that SQLite never parses a document to write it.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec

from tracardi.storage.embedded._fields import extractor
from tracardi.storage.errors import InvalidQuery, StorageError

if TYPE_CHECKING:
    from tracardi.storage.embedded._cache import DocCache
    from tracardi.storage.ports import Index

MULTI_TABLE = "multi_values"
SCHEMA_TABLE = "schema_version"

_FIELD = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_MAX_FIELD = 256


def json_path(field: object) -> str:
    """The SQL string literal of the JSON path of a dot path, e.g. ``'$.traits."e-mail"'``.

    Raises InvalidQuery for anything outside the field alphabet, which is what keeps SQL out of field names.
    """
    if not isinstance(field, str) or len(field) > _MAX_FIELD or not _FIELD.fullmatch(field):
        raise InvalidQuery(f"invalid field name: {field!r}")
    segments = (seg if _PLAIN_KEY.fullmatch(seg) else f'"{seg}"' for seg in field.split("."))
    return "'$." + ".".join(segments) + "'"


def sql_literal(text: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def sanitize(name: str) -> str:
    """A name made of letters, digits and underscores only (for table, index and trigger names)."""
    return _UNSAFE.sub("_", name)


def _suffixed(prefix: str, field: str) -> str:
    """``prefix`` + the sanitized field + a checksum that keeps ``a-b``, ``a_b`` and ``A_b`` apart."""
    return f"{prefix}{sanitize(field)}_{zlib.crc32(field.encode()):08x}"


def field_column(field: str) -> str:
    """The column of a declared scalar field."""
    return _suffixed("f_", field)


def multi_column(field: str) -> str:
    """The column of a declared list field (its JSON text)."""
    return _suffixed("m_", field)


class IndexTable:
    """Everything the store needs about one index: its table, codecs, cache and precomputed statements."""

    def __init__(self, index: Index[Any], cache: DocCache | None) -> None:
        if not isinstance(index.name, str) or not index.name:
            raise StorageError(f"an index needs a non-empty name: {index!r}")
        for field in (*index.fields, *index.multi):
            json_path(field)
        self.name = index.name
        self.base = "doc_" + sanitize(index.name)
        self.table = f'"{self.base}"'
        self.fields = frozenset(index.fields)
        self.multi = frozenset(index.multi)
        # Column order of the rows the writer binds: fields, then multi fields, each sorted.
        self.field_columns = tuple((field, field_column(field)) for field in sorted(self.fields))
        self.multi_columns = tuple((field, multi_column(field)) for field in sorted(self.multi))
        self.columns = {field: f'd."{column}"' for field, column in self.field_columns}
        self.spec = msgspec.json.encode({"fields": sorted(self.fields), "multi": sorted(self.multi)}).decode()
        self.cache = cache
        self.ready = False  # set once the schema of this index is known to be current
        self.doc_type: Any = index.doc_type
        self.check_type = isinstance(index.doc_type, type)
        self.encoder = msgspec.json.Encoder()
        self.extract = extractor(sorted(self.fields), sorted(self.multi), self.encoder)
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(index.doc_type)
        self._statements()

    def _statements(self) -> None:
        t = self.table
        # Lists of ids travel as one JSON array parameter; rows to write as one multi-row VALUES (``sql_upsert``),
        # so that a run costs a statement per index and SQLite does not parse the documents it stores.
        each = "SELECT value FROM json_each(CAST(? AS TEXT))"
        # id -> [version, field column values...]: the writer leaves a field column whose value stays out of the
        # upsert's SET list, because SQLite rewrites the index entry of every column it sets, changed or not.
        stored = "".join(f', "{column}"' for _, column in self.field_columns)
        self.sql_versions = f"SELECT json_group_object(id, json_array(version{stored})) FROM {t} WHERE id IN ({each})"
        names = [column for _, column in (*self.field_columns, *self.multi_columns)]
        self.width = 3 + len(names)  # parameters per row: id, version, doc, columns
        quoted = "".join(f', "{n}"' for n in names)
        self._insert_head = f"INSERT INTO {t} (id, version, doc{quoted}) VALUES "
        self._row = "(?, ?, CAST(? AS TEXT)" + ", ?" * len(names) + ")"
        self._set_fields = [f', "{column}" = excluded."{column}"' for _, column in self.field_columns]
        self._set_multi = "".join(f', "{column}" = excluded."{column}"' for _, column in self.multi_columns)
        self.all_fields = tuple(range(len(self.field_columns)))
        self.sql_delete_many = f"DELETE FROM {t} WHERE id IN ({each})"
        self.sql_get = f"SELECT version, doc FROM {t} WHERE id = ?"
        self.sql_get_many = f"SELECT id, version, doc FROM {t} WHERE id IN ({each})"

    def sql_upsert(self, rows: int, changed: tuple[int, ...] | None = None) -> str:
        """The upsert of ``rows`` rows of ``width`` parameters each (the document is bound as UTF-8 bytes); an
        existing row gets the field columns numbered in ``changed`` (default: all) and every list column."""
        fields = self.all_fields if changed is None else changed
        tail = _SET_HEAD + "".join(self._set_fields[i] for i in fields) + self._set_multi
        return _upsert_sql(self._insert_head, self._row, rows, tail)

    def index_name(self, field: str) -> str:
        """The name of the index of a declared field (a checksum keeps ``a-b`` and ``a_b`` apart)."""
        return f"ix_{self.base}__{sanitize(field)}_{zlib.crc32(field.encode()):08x}"

    def decode(self, doc_id: str, text: str | bytes) -> Any:
        """A fresh document decoded from its stored JSON."""
        try:
            return self.decoder.decode(text)
        except msgspec.DecodeError as exc:
            raise StorageError(f"{self.name}/{doc_id}: stored document does not decode: {exc}") from exc

    def __repr__(self) -> str:
        return f"IndexTable({self.name!r})"


_SET_HEAD = " ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc"


@lru_cache(maxsize=1024)
def _upsert_sql(head: str, row: str, rows: int, tail: str) -> str:
    return head + ", ".join([row] * rows) + tail
