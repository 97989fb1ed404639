"""Every Redis key of the product, built from one prefix (a deployment's, or a test's own)."""

from __future__ import annotations

DEFAULT_PREFIX = "tracardi:"
GROUP = "workers"
"""The consumer group every worker of a queue joins."""


class Keys:
    """Key names under ``prefix``: ``<prefix>q:<queue>:stream`` and its siblings, ``<prefix>lease:<key>``,
    ``<prefix>lock:<key>``."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix

    def stream(self, queue: str) -> str:
        """Ready and claimed jobs (entries ``i`` = job id, ``r`` = packed record)."""
        return f"{self.prefix}q:{queue}:stream"

    def jobs(self, queue: str) -> str:
        """Hash of every live job id -> packed record (dedupe, and the body of delayed jobs)."""
        return f"{self.prefix}q:{queue}:jobs"

    def delayed(self, queue: str) -> str:
        """Sorted set of delayed job ids by due time in ms."""
        return f"{self.prefix}q:{queue}:delayed"

    def dead(self, queue: str) -> str:
        """Hash of dead job id -> packed dead record."""
        return f"{self.prefix}q:{queue}:dead"

    def dead_order(self, queue: str) -> str:
        """Sorted set of dead job ids by failure time in ms."""
        return f"{self.prefix}q:{queue}:dead-order"

    def lease(self, key: str) -> str:
        return f"{self.prefix}lease:{key}"

    def lock(self, key: str) -> str:
        return f"{self.prefix}lock:{key}"

    def all_of_prefix(self) -> str:
        """A SCAN pattern of every key of this prefix (tests clean up with it)."""
        return f"{self.prefix}*"
