"""JSON Schema checking of events with ``jsonschema``: schemas checked on save, compiled once per config load.

No remote ``$ref`` is ever fetched: the validator gets an empty registry, and a schema naming a non-local
reference is refused on save (fetching URLs named by configuration would let an admin document reach the network).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry

from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.engine._validate import _too_deep

MAX_SCHEMA_DEPTH = 32
_REF_KEYS = ("$ref", "$dynamicRef")


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    stack = [(loc, value)]
    while stack:
        here, item = stack.pop()
        yield here, item
        if isinstance(item, dict):
            stack.extend(((*here, k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend(((*here, i), v) for i, v in enumerate(item))


def check_schema(schema: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    """Raise InvalidInput naming the place in the schema that is wrong (depth, remote reference, meta-schema)."""
    if _too_deep(schema, MAX_SCHEMA_DEPTH):
        raise InvalidInput(
            f"The schema is nested deeper than {MAX_SCHEMA_DEPTH} levels.",
            [FieldError(loc, f"nested deeper than {MAX_SCHEMA_DEPTH} levels")],
        )
    for here, item in _walk(schema, loc):
        if not isinstance(item, dict):
            continue
        for key in _REF_KEYS:
            ref = item.get(key)
            if isinstance(ref, str) and not ref.startswith("#"):
                raise InvalidInput(
                    f"Only local references (#/...) are allowed in a schema, not {ref!r}.",
                    [FieldError((*here, key), "only local references (#/...)")],
                )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = (*loc, *exc.path)
        raise InvalidInput(f"Invalid JSON schema: {exc.message}", [FieldError(where, exc.message)]) from exc


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for a checked schema, built once and reused for every event (``format`` is checked too)."""
    return Draft202012Validator(schema, registry=Registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def first_error(validator: Validator, instance: Any) -> tuple[list[str | int], str] | None:
    """The most relevant failure as (path inside the instance, message), or None when valid."""
    error: ValidationError | None = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    path: list[str | int] = list(error.absolute_path)
    required = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(required, list):
        path.extend([k for k in required if k not in error.instance][:1])
    return path, error.message
