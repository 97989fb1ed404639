"""The progress of a long background task (a copy over many stored documents), readable while it runs."""

from __future__ import annotations

from datetime import datetime

import msgspec


class TaskProgress(msgspec.Struct, kw_only=True):
    """Stored under the job id; updated after each page of work."""

    id: str
    queue: str
    kind: str
    started: datetime
    updated: datetime
    ended: datetime | None = None
    status: str = "running"
    """running, done or failed (a failed attempt is retried and starts over)."""
    total: int = 0
    done: int = 0
    changed: int = 0
    error: str = ""
    detail: str = ""
    """The last step, in words (a migration's current index and stage)."""
