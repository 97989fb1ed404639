"""The Redis adapters: queues (Streams), leases, locks; used when ``redis.url`` is set."""

from tracardi.storage.redis.keys import Keys
from tracardi.storage.redis.lease import RedisLeases
from tracardi.storage.redis.locks import RedisLocks
from tracardi.storage.redis.queue import RedisQueue

__all__ = ["Keys", "RedisLeases", "RedisLocks", "RedisQueue"]
