"""The embedded storage adapter: documents in one SQLite file, for a single machine with no servers."""

from tracardi.storage.embedded.documents import SqliteDocumentStore
from tracardi.storage.embedded.migrations import SqliteMigrations
from tracardi.storage.embedded.queue import SqliteQueue

__all__ = ["SqliteDocumentStore", "SqliteMigrations", "SqliteQueue"]
