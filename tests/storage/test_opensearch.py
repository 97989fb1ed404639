"""The OpenSearch document store: the port's contract, plus what only the OpenSearch adapter promises.

By default this runs against ``osmem-server`` (PyPI), an in-memory OpenSearch-compatible stand-in started once per
test session by its pytest plugin, each test on its own copy (``osmem_url``). With ``TRACARDI_TEST_OPENSEARCH_URL``
set, the contract also runs against that real cluster (marker ``real_opensearch``), with writes refreshed
(``wait_for``) since a real cluster, unlike osmem, only shows a write to searches after a refresh.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.storage.contract import CONTRACT_INDICES, DocumentStoreContract
from tracardi.storage.opensearch import OpenSearchDocumentStore, OpenSearchOptions

REAL_URL = os.environ.get("TRACARDI_TEST_OPENSEARCH_URL", "")


class TestOsmemContract(DocumentStoreContract):
    @pytest.fixture
    async def store(self, osmem_url: str) -> AsyncIterator[OpenSearchDocumentStore]:
        store = OpenSearchDocumentStore(OpenSearchOptions(hosts=[osmem_url], prefix="t"), CONTRACT_INDICES)
        await store.migrate()
        yield store
        await store.close()


@pytest.mark.real_opensearch
@pytest.mark.skipif(not REAL_URL, reason="TRACARDI_TEST_OPENSEARCH_URL is not set")
class TestRealOpenSearchContract(DocumentStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[OpenSearchDocumentStore]:
        prefix = f"test-{uuid.uuid4().hex[:10]}"
        options = OpenSearchOptions(hosts=[REAL_URL], prefix=prefix, refresh="wait_for", replicas=0)
        store = OpenSearchDocumentStore(options, CONTRACT_INDICES)
        await store.migrate()
        yield store
        if not store._closed:
            await store._client.indices.delete(index=f"{prefix}.*")
        await store.close()
