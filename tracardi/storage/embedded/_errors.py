"""Turn sqlite3 errors into storage errors that say what was being done."""

from __future__ import annotations

import sqlite3

from tracardi.storage.errors import StorageError, Unavailable


def storage_error(exc: BaseException, context: str) -> StorageError:
    """The storage error to raise for ``exc``, which happened while doing ``context``."""
    if isinstance(exc, StorageError):
        return exc
    # OperationalError covers a locked or busy file, a failed open, I/O errors and a full disk, and a closed
    # connection is a ProgrammingError: the store cannot serve now. Other errors mean the request or file is wrong.
    if isinstance(exc, sqlite3.OperationalError) or "closed" in str(exc):
        return Unavailable(f"sqlite: {context}: {exc}")
    return StorageError(f"sqlite: {context}: {exc!r}")
