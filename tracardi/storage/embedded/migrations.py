"""The Migrator port on the embedded store: its tables carry their layout version and are upgraded in place.

``up`` is the store's ``migrate()`` (one transaction on the writer thread, so a crash leaves the old layout and a
re-run starts over); there is never an old version to clean up.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import TYPE_CHECKING

from tracardi.storage.migration import IndexStatus, MigrationStep, Report

if TYPE_CHECKING:
    from tracardi.storage.embedded.documents import SqliteDocumentStore
    from tracardi.storage.migration import Migrator


class SqliteMigrations:
    """Status and in-place upgrade of the embedded store's tables."""

    def __init__(self, store: SqliteDocumentStore) -> None:
        self._store = store

    async def status(self) -> list[IndexStatus]:
        await self._store.ping()  # opens the file and learns which tables are current
        out = []
        for table in self._store._tables.values():
            sql = f"SELECT count(*) FROM {table.table}"
            count = await self._store.run_read(partial(_count, sql), f"count {table.name}") if table.ready else 0
            out.append(IndexStatus(table.name, table.base, count, table.ready))
        return out

    async def up(self, report: Report | None = None, *, batch: int = 500) -> list[IndexStatus]:
        before = {state.alias: state for state in await self.status()}
        await self._store.migrate()
        after = await self.status()
        for state in after:
            if report is not None and not before[state.alias].up_to_date:
                await report(
                    MigrationStep(
                        state.alias, "switch", state.current or "", state.current or "", state.count, state.count
                    )
                )
        return after

    async def cleanup(self) -> list[str]:
        return []


def _count(sql: str, conn: sqlite3.Connection) -> int:
    return int(conn.execute(sql).fetchone()[0])


if TYPE_CHECKING:

    def _conforms(migrations: SqliteMigrations) -> Migrator:
        return migrations
