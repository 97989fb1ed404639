"""In-process adapters for one machine: locks and leases (and, later, caches) that need no server."""

from tracardi.storage.memory.leases import InProcessLeases
from tracardi.storage.memory.locks import InProcessLocks

__all__ = ["InProcessLeases", "InProcessLocks"]
