"""WAL checkpoints on their own thread, so no commit ever waits for one.

With SQLite's automatic checkpoints, the commit that crosses the threshold copies the whole WAL into the database
and syncs it, and every request sharing that group commit waits (a p99 spike of hundreds of milliseconds under load).
Here the writer's automatic checkpoint is off and this thread runs PASSIVE checkpoints, which never block writers
or readers in WAL mode, whenever the WAL has grown past a threshold.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from tracardi.storage.embedded._connect import BUSY_TIMEOUT_MS

CHECK_EVERY_S = 0.25
WAL_THRESHOLD_BYTES = 8 * 1024 * 1024


class Checkpointer:
    """A thread that checkpoints the WAL of one database file while it grows."""

    def __init__(self, path: Path, threshold: int = WAL_THRESHOLD_BYTES) -> None:
        self._path = path
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

    def _wal_size(self) -> int:
        try:
            return os.path.getsize(self._wal)
        except OSError:
            return 0

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(CHECK_EVERY_S):
                if self._wal_size() < self._threshold:
                    continue
                if conn is None:
                    conn = sqlite3.connect(self._path, isolation_level=None)
                    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
        except sqlite3.Error:
            # a failed checkpoint loses nothing: the WAL keeps every commit and SQLite checkpoints on close
            self._stop.set()
        finally:
            if conn is not None:
                conn.close()
