"""WAL checkpoints on their own thread, so no commit ever waits for one.

With SQLite's automatic checkpoints, the commit that crosses the threshold copies the whole WAL into the database
and syncs it, and every request sharing that group commit waits (a p99 spike of hundreds of milliseconds under load).
Here the writer's automatic checkpoint is off and this thread runs PASSIVE checkpoints, which never block writers
or readers in WAL mode, whenever the WAL has grown past a threshold.

A PASSIVE checkpoint under steady writes never catches up with the end of the WAL, so SQLite never starts the log
over and the file grows without bound (642 MB after 30,000 tracks), every commit extending it: the kernel zeroes and
allocates new blocks and each fdatasync journals the new size, about a third of the writer's CPU. So this thread
asks the writer (``reset``) to run a RESTART checkpoint between two group commits, and the next commit writes the
log from its start again, over pages the file already has.

The writer waits for that RESTART, and so do the requests queued behind it: it must find little left to copy. One
PASSIVE pass over a busy WAL takes long enough for thousands of frames to arrive meanwhile (a RESTART after a single
pass stalled the writer 18 ms, the half-rate p99 of /track), so passes repeat, each copying what came during the
one before, until one finds only a few new frames (RESTART: 4-5 ms).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from tracardi.storage.embedded._connect import BUSY_TIMEOUT_MS

CHECK_EVERY_S = 0.5
WAL_THRESHOLD_BYTES = 16 * 1024 * 1024
MAX_PASSES = 10  # PASSIVE passes per round at most (a WAL written faster than a pass copies never catches up)
FEW_FRAMES = 48  # frames written during a pass that are few enough for the writer's RESTART to copy


class Checkpointer:
    """A thread that checkpoints the WAL of one database file while it grows."""

    def __init__(self, path: Path, reset: threading.Event, threshold: int = WAL_THRESHOLD_BYTES) -> None:
        self._path = path
        self._reset = reset
        self._wal = Path(f"{path}-wal")
        self._threshold = threshold
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.checkpoints = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (blocking: call it off the event loop)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _wal_state(self) -> tuple[int, int]:
        try:
            stat = os.stat(self._wal)
        except OSError:
            return 0, 0
        return stat.st_size, stat.st_mtime_ns

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        done = (0, 0)  # the WAL's size and mtime when last checkpointed: a WAL untouched since needs nothing
        try:
            while not self._stop.wait(CHECK_EVERY_S):
                state = self._wal_state()
                if state[0] < self._threshold or state == done:
                    continue
                done = state
                if conn is None:
                    conn = sqlite3.connect(self._path, isolation_level=None)
                    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                _catch_up(conn)
                self.checkpoints += 1
                self._reset.set()
        except sqlite3.Error:
            # a failed checkpoint loses nothing: the WAL keeps every commit and SQLite checkpoints on close
            self._stop.set()
        finally:
            if conn is not None:
                conn.close()


def _catch_up(conn: sqlite3.Connection) -> None:
    """PASSIVE checkpoints until one finds that few frames were written during the one before."""
    _, before, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    for _ in range(MAX_PASSES - 1):
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames - before <= FEW_FRAMES or frames < before:  # fewer: the writer started the log over meanwhile
            return
        before = frames
