"""Opening the database file: the writer's connection and the readers' connections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tracardi.storage.errors import Unavailable

BUSY_TIMEOUT_MS = 5000  # another process holding the write lock (a backup, a CLI) is waited for, not failed on
# SQLite's own default (2 MiB). A bigger cache costs the writer more than the reads it saves: the end of each
# transaction walks the page cache's hash table (perf shows pcache1 truncation), so 64 MiB cost 12 us more writer
# CPU per tracked event (about 8 % of a /track); the OS page cache serves the index pages that fall out.
WRITER_PAGE_CACHE_KIB = 2048
# The writer never checkpoints during a commit: _checkpoint.Checkpointer does it on its own thread.
WAL_CHECKPOINT_PAGES = 0
# A WAL that a long burst grew is cut back to this size when it starts over, so the disk gets its space back.
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def connect_writer(path: Path, synchronous: str) -> sqlite3.Connection:
    """The one write connection, in autocommit mode (the writer issues BEGIN/COMMIT), on the WAL file."""
    conn = sqlite3.connect(path, isolation_level=None, cached_statements=512)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise Unavailable(f"sqlite: {path}: cannot switch to WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute(f"PRAGMA cache_size = -{WRITER_PAGE_CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
        # Statement journals (each multi-row upsert with triggers has one) in memory: past 64 KiB SQLite spills
        # them to a temp file, which cost 12 KB of file writes per tracked event.
        conn.execute("PRAGMA temp_store = MEMORY")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection that a pool hands to one thread at a time."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=512)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn
