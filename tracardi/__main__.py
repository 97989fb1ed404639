"""``python -m tracardi``: parse the command line and hand over to the runtime."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from tracardi import log as logging_setup
from tracardi.settings import SettingsError, load_settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tracardi", description="Tracardi CDP server")
    p.add_argument("--role", default="all", help="all, or a comma list of: api, jobs, workers, bridges")
    p.add_argument("--config", help="config file (default: config/tracardi.toml when present)")
    p.add_argument("--host", help="API interface (overrides api.host)")
    p.add_argument("--port", type=int, help="API port (overrides api.port)")
    p.add_argument("--log-format", choices=["json", "console"], help="overrides log.format")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("export", "import"):
        from tracardi.commands import transfer_main

        return transfer_main(argv)
    if argv and argv[0] == "import-data":
        from tracardi.import_cli import import_main

        return import_main(argv)
    if argv and argv[0] == "migrate":
        from tracardi.commands import migrate_main

        return migrate_main(argv)
    args = _parser().parse_args(argv)
    from tracardi import runtime

    try:
        roles = runtime.parse_roles(args.role)
        api = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
        logs = {"format": args.log_format} if args.log_format else {}
        settings = load_settings(args.config, api=api, log=logs)
    except (ValueError, SettingsError) as exc:
        print(f"tracardi: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error channel
        return 2
    logging_setup.configure(settings.log.format, settings.log.level)
    try:
        _run(runtime.run(settings, roles))
    except SettingsError as exc:
        print(f"tracardi: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except (OSError, RuntimeError) as exc:
        print(f"tracardi: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except ExceptionGroup as group:
        print(f"tracardi: {group.exceptions[0]}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


def _run(coro: object) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for every platform
        asyncio.run(coro)  # type: ignore[arg-type]
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
