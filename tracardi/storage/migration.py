"""The schema-migration port: which stored form each index has, and the upgrade to the code's form.

Both adapters implement it: OpenSearch copies an outdated index (or event month) into a new version and switches
its aliases; the embedded store upgrades its tables in place. ``migrate up`` runs it from the CLI, and the
``migration:worker`` queue runs it as a job whose progress the admin API reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class IndexStatus:
    """One index (or event month): which version serves it, whether it matches the code, what is left over."""

    alias: str
    current: str | None = None
    count: int = 0
    up_to_date: bool = False
    pending: str | None = None
    old: list[str] = field(default_factory=list)

    def line(self) -> str:
        state = "up to date" if self.up_to_date else "needs migrate up"
        extra = f", pending copy {self.pending}" if self.pending else ""
        old = f", old kept until cleanup: {', '.join(self.old)}" if self.old else ""
        return f"{self.alias} -> {self.current} ({self.count} documents): {state}{extra}{old}"


@dataclass(frozen=True, slots=True)
class MigrationStep:
    """Progress of one index's upgrade: ``stage`` is copy, catch-up, switch, replay or verified.

    ``done`` counts the documents read from the old version in this stage so far, of ``total`` (its count when
    the upgrade of this index began).
    """

    alias: str
    stage: str
    source: str
    target: str
    done: int = 0
    total: int = 0

    def line(self) -> str:
        return f"{self.alias}: {self.stage} {self.source} -> {self.target}: {self.done}/{self.total} documents"


Report = Callable[[MigrationStep], Awaitable[None]]


class Migrator(Protocol):
    """Schema versions of one store."""

    async def status(self) -> list[IndexStatus]:
        """Every index as the store has it."""
        ...

    async def up(self, report: Report | None = None, *, batch: int = 500) -> list[IndexStatus]:
        """Upgrade what is outdated (resumable: a re-run after a crash continues), verify, return the statuses."""
        ...

    async def cleanup(self) -> list[str]:
        """Drop the versions no alias serves any more; return their names."""
        ...
