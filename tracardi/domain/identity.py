"""Identity resolution: merge keys, and the tokens under which a profile is found by its key values."""

from __future__ import annotations

from typing import Any, Final

import msgspec

from tracardi.domain import dotpath
from tracardi.domain.profile import Profile

TOKENS_KEY: Final = "merge_keys"
TOKENS_FIELD: Final = f"metadata.system.{TOKENS_KEY}"
"""Where a profile keeps its tokens (an indexed list, so finding the profiles that share a value is one lookup)."""
REQUEST_KEY: Final = "merge_requested"
"""``metadata.system.merge_requested``: profile paths a flow asks to merge on now (the "merge profiles" action)."""
MAX_VALUE = 512
MAX_TOKENS = 32
"""Most key values one profile is found by (a list-valued key could otherwise bring thousands)."""


class MergeKeys(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Profile paths that identify a person: two profiles with one equal value there become one."""

    keys: list[str] = []
    """E.g. ``["data.contact.email.main"]``; each key on its own identifies (any one shared value merges)."""


def _normal(value: Any) -> str | None:
    if isinstance(value, str):
        text = value.strip().lower()
        return text if text and len(text) <= MAX_VALUE else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def identity_tokens(profile: Profile, keys: list[str]) -> list[str]:
    """``<path>=<value>`` for every non-empty key value (strings trimmed and lower-cased; lists per element).

    At most MAX_TOKENS, the first keys' values first.
    """
    out: list[str] = []
    for key in keys:
        value = dotpath.get(profile, key)
        for item in value if isinstance(value, list) else [value]:
            text = _normal(item)
            if text is not None and f"{key}={text}" not in out:
                out.append(f"{key}={text}")
                if len(out) == MAX_TOKENS:
                    return out
    return out


def stored_tokens(profile: Profile) -> list[str]:
    tokens = profile.metadata.system.get(TOKENS_KEY)
    return [t for t in tokens if isinstance(t, str)] if isinstance(tokens, list) else []


def store_tokens(profile: Profile, tokens: list[str]) -> bool:
    """Record the profile's tokens; True if they changed."""
    if stored_tokens(profile) == tokens:
        return False
    if tokens:
        profile.metadata.system[TOKENS_KEY] = tokens
    else:
        profile.metadata.system.pop(TOKENS_KEY, None)
    return True


def take_merge_request(profile: Profile) -> list[str]:
    """The paths a flow asked to merge on in this track, removed from the profile (never stored)."""
    raw = profile.metadata.system.pop(REQUEST_KEY, None)
    return [key for key in raw if isinstance(key, str)] if isinstance(raw, list) else []
