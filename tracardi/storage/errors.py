"""Errors of the storage layer: one root, each carrying what happened."""

from __future__ import annotations


class StorageError(Exception):
    """Root of every error a storage adapter raises."""


class NotFound(StorageError):
    """The document does not exist."""

    def __init__(self, index: str, doc_id: str) -> None:
        super().__init__(f"{index}/{doc_id} not found")
        self.index = index
        self.doc_id = doc_id


class VersionConflict(StorageError):
    """A write expected another version (or expected no document) than the one stored."""

    def __init__(self, index: str, doc_id: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"{index}/{doc_id}: expected version {expected}, stored {actual}")
        self.index = index
        self.doc_id = doc_id
        self.expected = expected
        self.actual = actual


class Unavailable(StorageError):
    """The store cannot be reached or is closed."""


class InvalidQuery(StorageError):
    """A query names a field or value the adapter cannot compile."""
