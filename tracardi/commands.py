"""Operator commands beside the server: ``export``/``import`` of all documents, and ``migrate`` of the schema."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from tracardi import log as logging_setup
from tracardi.services import migrator_of, open_store
from tracardi.settings import SettingsError, load_settings
from tracardi.storage import MigrationStep, StorageError
from tracardi.storage.indices import ALL_INDICES
from tracardi.transfer import export_documents, import_documents


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tracardi", description="move documents between storage adapters")
    p.add_argument("command", choices=["export", "import"])
    p.add_argument("file", help="JSON lines file to write (export) or read (import); - for stdout/stdin")
    p.add_argument("--config", help="config file (default: config/tracardi.toml when present)")
    return p


async def _transfer(command: str, file: str, config: str | None) -> dict[str, int]:
    settings = load_settings(config)
    data_dir = Path(settings.storage.path)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    store = open_store(settings, data_dir)
    try:
        await store.migrate()
        if command == "export":
            if file == "-":
                return await export_documents(store, ALL_INDICES, sys.stdout.buffer)
            with open(file, "wb") as out:  # noqa: ASYNC230 - a local file, written between awaited scans
                return await export_documents(store, ALL_INDICES, out)
        if file == "-":
            return await import_documents(store, ALL_INDICES, sys.stdin.buffer)
        with open(file, "rb") as lines:  # noqa: ASYNC230 - read line by line between awaited bulks
            return await import_documents(store, ALL_INDICES, lines)
    finally:
        await store.close()


def _migrate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tracardi migrate", description="schema versions of the store")
    p.add_argument("action", choices=["status", "up", "cleanup"])
    p.add_argument("--config", help="config file (default: config/tracardi.toml when present)")
    p.add_argument("--batch", type=int, default=500, help="documents per copy batch (default 500)")
    return p


def _say(line: str) -> None:
    print(line)  # noqa: T201 - the command's report


async def _report(step: MigrationStep) -> None:
    if step.stage != "copy" or step.done == step.total or step.done % 10_000 < 500:  # a line per ~10,000 copied
        _say(step.line())


async def _migrate(action: str, config: str | None, batch: int) -> None:
    settings = load_settings(config)
    data_dir = Path(settings.storage.path)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    store = open_store(settings, data_dir)
    try:
        migrations = migrator_of(store)
        if action == "cleanup":
            for name in await migrations.cleanup():
                _say(f"deleted {name}")
            return
        states = await (migrations.up(_report, batch=batch) if action == "up" else migrations.status())
        for state in states:
            _say(state.line())
    finally:
        await store.close()


def migrate_main(argv: Sequence[str]) -> int:
    """``python -m tracardi migrate status|up|cleanup``: exit 0, 1 on a storage error, 2 on bad settings."""
    args = _migrate_parser().parse_args(argv[1:])
    logging_setup.configure("console", "warning")
    try:
        asyncio.run(_migrate(args.action, args.config, args.batch))
    except SettingsError as exc:
        print(f"tracardi: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error channel
        return 2
    except StorageError as exc:
        print(f"tracardi: migrate {args.action} failed: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def transfer_main(argv: Sequence[str]) -> int:
    """``python -m tracardi export FILE`` / ``import FILE``: exit 0, or 1 on a storage error, 2 on bad settings."""
    args = _parser().parse_args(argv)
    logging_setup.configure("console", "warning")
    try:
        counts = asyncio.run(_transfer(args.command, args.file, args.config))
    except SettingsError as exc:
        print(f"tracardi: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error channel
        return 2
    except (StorageError, OSError) as exc:
        print(f"tracardi: {args.command} failed: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    summary = ", ".join(f"{name} {n}" for name, n in counts.items())
    print(f"tracardi: {args.command}ed {summary}", file=sys.stderr)  # noqa: T201 - stdout may carry the data
    return 0
