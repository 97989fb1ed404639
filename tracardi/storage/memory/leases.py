"""In-process leases: the embedded default of the Leases port (one process is the only taker)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracardi.storage.ports import Leases


class InProcessLeases:
    """Keys with an expiry, in a dict; expired ones are forgotten as new ones are taken."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def take(self, key: str, ttl: float) -> bool:
        now = time.monotonic()
        if len(self._until) > 10_000:
            self._until = {k: t for k, t in self._until.items() if t > now}
        if self._until.get(key, 0.0) > now:
            return False
        self._until[key] = now + ttl
        return True


if TYPE_CHECKING:

    def _conforms(leases: InProcessLeases) -> Leases:
        return leases
