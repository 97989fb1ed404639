"""In-process adapters for one machine: locks (and, later, caches) that need no server."""

from tracardi.storage.memory.locks import InProcessLocks

__all__ = ["InProcessLocks"]
