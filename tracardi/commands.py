"""Operator commands beside the server: ``export`` and ``import`` of all documents as JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from tracardi import log as logging_setup
from tracardi.services import open_store
from tracardi.settings import SettingsError, load_settings
from tracardi.storage import StorageError
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
