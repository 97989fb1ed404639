"""Import tests: services on a fresh data folder, files in its import folder, and a 10,000-row CSV."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import SettingsFactory
from tracardi.services import Services, import_folder, open_services
from tracardi.workers import WorkerDeps, WorkerOptions, WorkersOptions, run_workers

FAST = WorkersOptions(default=WorkerOptions(max_tries=3, backoff_min=0.01, backoff_max=0.02, poll=0.05))
ROWS = 10_000
BAD_LINES = (1_001, 5_002, 9_003)
"""Physical lines (the header is line 1) of the three bad rows of ``big_csv``."""


def write_csv(path: Path, rows: int = ROWS, bad: tuple[int, ...] = BAD_LINES) -> None:
    """``id,email,age,vip`` rows; the lines in ``bad`` are broken three ways (field count, number, encoding)."""
    out = [b"id,email,age,vip\n"]
    kinds = iter(["fields", "number", "encoding"] * len(bad))
    for n in range(1, rows + 1):
        line = n + 1
        if line in bad:
            kind = next(kinds)
            if kind == "fields":
                out.append(b"c%d,only-two-fields\n" % n)
            elif kind == "number":
                out.append(b"c%d,c%d@example.com,forty,yes\n" % (n, n))
            else:
                out.append(b"c%d,c%d@ex\xe4mple.com,40,no\n" % (n, n))
            continue
        out.append(b"c%d,c%d@example.com,%d,%s\n" % (n, n, n % 90, b"yes" if n % 2 else b"no"))
    path.write_bytes(b"".join(out))


@pytest.fixture
async def services(make_settings: SettingsFactory) -> AsyncIterator[Services]:
    async with open_services(make_settings()) as svc:
        yield svc


@pytest.fixture
def folder(services: Services) -> Path:
    return import_folder(services.settings)


async def burst(svc: Services, options: WorkersOptions = FAST) -> None:
    """Run the workers until every queue is empty."""
    deps = WorkerDeps(queue=svc.queue, store=svc.store, metrics=svc.metrics, tasks=svc.tasks, imports=svc.imports)
    await asyncio.wait_for(run_workers(deps, options, asyncio.Event(), burst=True), 120)
