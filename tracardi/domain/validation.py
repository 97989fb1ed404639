"""Event validation: a JSON schema that events of one type (from one source, or any) must satisfy."""

from __future__ import annotations

from typing import Any

import msgspec


class EventSchema(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Events of ``event_type`` whose value at ``path`` fails ``schema`` are refused (406) and nothing is stored."""

    id: str
    event_type: str
    schema: dict[str, Any]
    """A JSON Schema (draft 2020-12); only local ``$ref`` (``#/...``) is allowed."""
    path: str = "properties"
    """The event path validated: ``properties`` by default, or e.g. ``context``."""
    source_id: str = ""
    """Only events from this source; empty: any source."""
    name: str = ""
    description: str = ""
    enabled: bool = True
