"""Which event and profile paths a configuration may read and write (mappings, reshaping, merge keys)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final, get_args, get_origin, get_type_hints

import msgspec

from tracardi.domain.profile import Profile
from tracardi.domain.refs import parse_ref

# the parts of a profile configuration may write; ids, metadata and the id itself are the engine's
PROFILE_ROOTS: Final = frozenset({"data", "traits", "stats", "segments", "interests", "consents", "aux"})
# the free-form parts of an event that reshaping may write
EVENT_ROOTS: Final = frozenset({"properties", "context", "traits", "data", "aux"})
MAX_PATH = 256


def event_path(text: str, *, writable: bool = False) -> str:
    """``properties.email`` or ``event@properties.email`` -> ``properties.email``; ValueError naming the problem."""
    path = _path(text, "event")
    if writable and (path.split(".")[0] not in EVENT_ROOTS or "." not in path):
        raise ValueError(f"can only write inside {', '.join(sorted(EVENT_ROOTS))} of an event, not {text!r}")
    return path


def profile_path(text: str) -> str:
    """``traits.tier`` or ``profile@traits.tier`` -> ``traits.tier``, if configuration may write there."""
    path = _path(text, "profile")
    if path.split(".")[0] not in PROFILE_ROOTS:
        raise ValueError(f"can only write inside {', '.join(sorted(PROFILE_ROOTS))} of a profile, not {text!r}")
    profile_type(path)
    return path


def _path(text: str, entity: str) -> str:
    if len(text) > MAX_PATH:
        raise ValueError(f"path longer than {MAX_PATH} characters")
    ref = parse_ref(text, entity)
    if ref.entity != entity:
        raise ValueError(f"must be a path in the {entity} ({entity}@...), not {text!r}")
    if not ref.path:
        raise ValueError(f"must name a field of the {entity}")
    return ref.path


@lru_cache(maxsize=1024)
def profile_type(path: str) -> Any:
    """The declared type of a profile path (``Any`` inside free-form dicts); ValueError for a field not there."""
    kind: Any = Profile
    for key in path.split("."):
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            hints = get_type_hints(kind)
            if key not in hints:
                raise ValueError(f"a profile has no field {key!r} (in {path!r})")
            kind = hints[key]
        elif get_origin(kind) is dict:
            kind = get_args(kind)[1]
        elif kind is Any:
            return Any
        else:
            raise ValueError(f"{path!r} goes inside a value that is not an object")
    return kind


def fit(value: Any, path: str) -> Any:
    """``value`` converted to the declared type of the profile path; msgspec.ValidationError when it cannot be."""
    kind = profile_type(path)
    if kind is Any:
        return value
    return msgspec.convert(value, kind, strict=False)
