"""The processes under test: the real server and the ceiling, each pinned to a core, started and stopped for sure."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning")


def steal_seconds() -> float:
    """CPU time the hypervisor took from this VM so far, summed over all cores (0.0 without /proc/stat)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return 0.0
    return int(first[8]) / _CLOCK_TICKS if first[0] == "cpu" and len(first) > 8 else 0.0


class StartError(RuntimeError):
    """A target did not come up (exited, or /healthz never answered 200)."""


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    """Prefix `taskset -c cpu` when taskset exists and a core is asked for; otherwise run unpinned."""
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None:
        return argv
    return [taskset, "-c", str(cpu), *argv]


def server_argv(port: int) -> list[str]:
    """The real server, as a user starts it (uvicorn inside, one process, API role only)."""
    return [sys.executable, "-m", "tracardi", "--role", "api", "--port", str(port)]


def ceiling_argv(port: int) -> list[str]:
    """The ceiling app under uvicorn with the server's flags: one worker, uvloop, httptools, no access log."""
    app = ["-m", "uvicorn", "--app-dir", str(BENCH_DIR), "ceiling:app", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, *app, *_UVICORN_FLAGS, "--no-server-header"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process (all its threads) has used so far; 0.0 when /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclass
class Target:
    """A running HTTP process that answers /track on loopback."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    cluster_pid: int | None = None  # the osmem-server this target stores in, when the bench started one

    def cpu_seconds(self) -> float:
        """User + system CPU the process (all its threads) has used so far; 0.0 when /proc is not there."""
        return cpu_seconds(self.proc.pid)

    def cluster_cpu_seconds(self) -> float | None:
        """The same for the target's osmem-server; None without one."""
        return None if self.cluster_pid is None else cpu_seconds(self.cluster_pid)

    def log_tail(self, lines: int = 25) -> str:
        """The end of the target's output, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def check_alive(self) -> None:
        """Raise StartError with the log tail when the process has exited."""
        code = self.proc.poll()
        if code is not None:
            raise StartError(f"{self.name} exited with code {code}; its last output:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, wait up to 15 s (the server drains and flushes), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def ensure_port_free(port: int) -> None:
    """Fail before starting anything when the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise StartError(f"port {port} is already in use on 127.0.0.1; pick another with --port-base")


def start(name: str, argv: list[str], port: int, log_path: Path, env: dict[str, str]) -> Target:
    """Start the process in its own session (Ctrl-C reaches only us; we stop it) and return once it is spawned."""
    ensure_port_free(port)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Target(name=name, port=port, proc=proc, log_path=log_path)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(target: Target, timeout: float = 60.0) -> None:
    """Poll GET /healthz until 200; raise StartError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        target.check_alive()
        if _healthy(target.port):
            return
        time.sleep(0.1)
    raise StartError(
        f"{target.name} did not answer GET /healthz within {timeout:.0f} s; its output:\n{target.log_tail()}"
    )
