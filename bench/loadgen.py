"""The load generator: wrk with bench/track.lua, pinned to its own core, its summary parsed from one JSON line."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from procs import BENCH_DIR, pinned

SCRIPT = BENCH_DIR / "track.lua"
_MARK = "BENCH_RESULT "
_SOCKET_ERRORS = ("connect", "read", "write", "timeout")


class LoadError(RuntimeError):
    """wrk failed or printed no summary."""


@dataclass(frozen=True)
class Load:
    """How hard and how long wrk pushes one target."""

    port: int
    bodies: Path
    connections: int
    seconds: float
    threads: int = 1
    cpu: int | None = 0
    delay_ms: float = 0.0  # mean pause before each request on a connection; 0: as fast as possible


@dataclass(frozen=True)
class Measured:
    """What one wrk run saw; latencies in milliseconds."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    status_errors: int  # responses with status >= 400 (wrk counts those, not 3xx)
    socket_errors: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0  # share of one core wrk used; near 1.0 means wrk, not the target, was the limit

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failures(self) -> list[str]:
        """Human-readable reasons this run cannot be trusted (non-2xx answers, socket errors)."""
        found = [f"{self.status_errors} responses with status >= 400"] if self.status_errors else []
        found += [f"{n} {kind} errors" for kind, n in self.socket_errors.items() if n]
        return found


def wrk_binary() -> str | None:
    """Path of wrk, or None when it is not installed."""
    return shutil.which("wrk")


def wrk_version(binary: str) -> str:
    """First line of `wrk --version` (it exits non-zero after printing usage)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "unknown"


def _command(binary: str, load: Load) -> list[str]:
    argv = [binary, f"-t{load.threads}", f"-c{load.connections}", f"-d{load.seconds:g}s", "--timeout", "10s"]
    argv += ["--latency", "-s", str(SCRIPT), f"http://127.0.0.1:{load.port}/track"]
    return pinned(load.cpu, argv)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], env: dict[str, str], seconds: float) -> str:
    """Run wrk in its own session; kill it if we are interrupted, so it never outlives the bench."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise LoadError(f"wrk exited with {proc.returncode}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


def _parse(output: str, client_cpu: float) -> Measured:
    line = next((ln for ln in output.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        raise LoadError(f"wrk printed no {_MARK.strip()} line; its output:\n{output}")
    raw = json.loads(line[len(_MARK) :])
    seconds = raw["duration_us"] / 1e6
    return Measured(
        requests=raw["requests"],
        seconds=seconds,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        status_errors=raw["status"],
        socket_errors={kind: raw[kind] for kind in _SOCKET_ERRORS},
        client_cpu=client_cpu / seconds if seconds else 0.0,
    )


def run(binary: str, load: Load) -> Measured:
    """Drive one target with wrk and return what it measured."""
    env = dict(os.environ, BENCH_BODIES=str(load.bodies), BENCH_DELAY_MS=f"{load.delay_ms:.3f}")
    before = _children_cpu()
    output = _run(_command(binary, load), env, load.seconds)
    return _parse(output, _children_cpu() - before)
