"""String templates over references: ``"Hi {{ profile@data.pii.firstname }}"`` (Tracardi's DotTemplate)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tracardi.domain import refs
from tracardi.domain.dotpath import MISSING

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def render(template: str, scope: Mapping[str, Any], default: str = "payload") -> str:
    """Replace each ``{{ ref }}`` by ``str(value)``; a missing value or a malformed reference becomes ``""``."""
    if "{{" not in template:
        return template

    def value(match: re.Match[str]) -> str:
        try:
            found = refs.read(scope, refs.parse_ref(match.group(1), default))
        except ValueError:
            return ""
        return "" if found is MISSING or found is None else str(found)

    return _PLACEHOLDER.sub(value, template)
