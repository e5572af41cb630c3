"""Before a worker consumes anything: the pipeline's topics and Elasticsearch indices exist.

A first write to a missing alias would make Elasticsearch create an unmapped index of that name, so the
indices (with their explicit mappings, behind aliases) are ensured before any agent starts.
"""

from __future__ import annotations

import asyncio

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.search_indices import IndexNames, ensure_indices
from sgs.streams.topics import ensure_topics


def prepare(settings: Settings) -> None:
    ensure_topics(settings)

    async def indices() -> None:
        async with search_client.async_client(settings.elasticsearch) as es:
            await ensure_indices(es, IndexNames(settings.index_prefix))

    asyncio.run(indices())
