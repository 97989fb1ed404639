"""Reading or deleting one document by id for the admin services, with the one NotFoundError they answer 404 with."""

from __future__ import annotations

from typing import Any, TypeVar

from tracardi.domain.errors import NotFoundError
from tracardi.storage import DocumentStore, Index

T = TypeVar("T")


async def get_or_missing(store: DocumentStore, index: Index[T], key: str, name: str) -> T:
    """The document stored under ``key`` (already normalized by the caller); NotFoundError "``name`` not found."."""
    found = await store.get(index, key)
    if found is None:
        raise NotFoundError(f"{name} not found.")
    return found.doc


async def delete_or_missing(store: DocumentStore, index: Index[Any], key: str, name: str) -> None:
    """Delete the document stored under ``key``; NotFoundError "``name`` not found." when there was none."""
    if not await store.delete(index, key):
        raise NotFoundError(f"{name} not found.")
