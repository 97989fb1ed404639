"""The scale-out storage adapter: documents in OpenSearch (``opensearch-py``'s async client only here)."""

from tracardi.storage.opensearch._client import make_client
from tracardi.storage.opensearch._migrate import Migrations
from tracardi.storage.opensearch._options import OpenSearchOptions, Refresh
from tracardi.storage.opensearch.documents import OpenSearchDocumentStore

__all__ = ["Migrations", "OpenSearchDocumentStore", "OpenSearchOptions", "Refresh", "make_client"]
