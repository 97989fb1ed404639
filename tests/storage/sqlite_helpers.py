"""Helpers of the SQLite store's tests: a file path, a store opened on it, and a look into the file."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.storage.contract import CONTRACT_INDICES
from tracardi.storage import Index
from tracardi.storage.embedded import SqliteDocumentStore


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


@contextlib.asynccontextmanager
async def store_at(
    path: Path, indices: tuple[Index[Any], ...] = CONTRACT_INDICES, *, migrate: bool = True, **options: Any
) -> AsyncIterator[SqliteDocumentStore]:
    store = SqliteDocumentStore(path, indices, **options)
    try:
        if migrate:
            await store.migrate()
        yield store
    finally:
        await store.close()


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Look into the file with a connection of our own."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()
