"""The one place where errors become HTTP responses: ``{"detail": ..., "errors": [{"loc": [...], "msg": ...}]}``."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tracardi.domain.errors import (
    Conflict,
    DomainError,
    EventRejected,
    FieldError,
    InvalidInput,
    NotFoundError,
    SourceRejected,
    located,
)
from tracardi.log import get_logger
from tracardi.storage import InvalidQuery, StorageError, Unavailable, VersionConflict

_encoder = msgspec.json.Encoder()
log = get_logger("api")


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than {limit} bytes.")
        self.limit = limit


class InvalidBody(Exception):
    """The request body does not decode into what the route takes; answered as a 422 naming the field."""

    def __init__(self, cause: msgspec.DecodeError | UnicodeDecodeError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(content), status, headers=headers, media_type="application/json")


def error_body(detail: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": [{"loc": e.loc, "msg": e.msg} for e in errors or ()]}


def error_response(status: int, detail: str, errors: list[FieldError] | None = None) -> Response:
    return json_response(error_body(detail, errors), status)


def validation_error(exc: msgspec.ValidationError | msgspec.DecodeError | UnicodeDecodeError, root: str) -> Response:
    """422 naming the field msgspec reports (``$.events[3].type`` -> ``["body", "events", 3, "type"]``)."""
    if isinstance(exc, UnicodeDecodeError):
        return error_response(422, "Body is not valid UTF-8.", [FieldError([root], "invalid UTF-8")])
    message = str(exc)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return error_response(422, f"Malformed JSON: {message}", [FieldError([root], message)])
    message, path = located(message)
    loc: list[str | int] = [root, *path]
    return error_response(
        422, f"Invalid {'.'.join(str(p) for p in loc[1:]) or root}: {message}", [FieldError(loc, message)]
    )


# domain errors whose status is fixed; checked in order, so subclasses come before their bases
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (SourceRejected, 401),
    (EventRejected, 406),
    (NotFoundError, 404),
    (Conflict, 409),
    (VersionConflict, 409),
    (DomainError, 400),
)


def _input_error(exc: Exception) -> Response | None:
    """The 4xx of an error in what the client sent, or None."""
    match exc:
        case InvalidInput():
            return error_response(422, exc.detail, exc.errors)
        case InvalidBody():
            return validation_error(exc.cause, "body")
        case EventRejected():
            return error_response(406, exc.detail, exc.errors)
        case BodyTooLarge():
            return error_response(413, str(exc), [FieldError(["body"], f"at most {exc.limit} bytes")])
        case InvalidQuery():
            return error_response(422, f"Invalid query: {exc}", [FieldError(["query"], str(exc))])
        case HTTPException():
            return error_response(exc.status_code, str(exc.detail))
        case RecursionError():
            # msgspec (and any recursive walk) gives up on absurd nesting before the depth checks can name it
            return error_response(422, "The input is nested too deeply.", [FieldError(["body"], "nested too deeply")])
    return None


def map_exception(exc: Exception) -> Response:
    """Map a domain, storage or HTTP error to a JSON response; unexpected ones become a logged 500."""
    answer = _input_error(exc)
    if answer is not None:
        return answer
    if isinstance(exc, Unavailable):
        log.error("storage_unavailable", error=str(exc))
        return error_response(503, "Storage is unavailable; retry later.")
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return error_response(status, str(exc))
    if isinstance(exc, StorageError):
        log.error("storage_error", error=str(exc))
        return error_response(500, "Storage error.")
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return error_response(500, "Internal server error.")


async def handle(request: Request, exc: Exception) -> Response:
    """Starlette exception handler delegating to map_exception."""
    return map_exception(exc)
