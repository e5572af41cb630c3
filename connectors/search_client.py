"""The Elasticsearch clients of every sgs process, reading and writing bodies with orjson.

The standard library's json is a measurable part of a worker's time per decision (bulk bodies) and of the
portal's per search (responses of a few hundred KiB); orjson does both several times faster. Only the body
codec changes: requests, retries and errors are the client's own.
"""

from __future__ import annotations

from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer


class OrjsonNdjsonSerializer(NdjsonSerializer):
    """`_bulk` bodies: one orjson line per action and document (dates and decimals as the client's default)."""

    def json_dumps(self, data: Any) -> bytes:
        return orjson.dumps(data, default=self.default)

    def json_loads(self, data: bytes) -> Any:
        return orjson.loads(data)


# The client maps its compatibility-mode mimetypes onto these too, so responses are read the same way.
SERIALIZERS = {OrjsonSerializer.mimetype: OrjsonSerializer(), OrjsonNdjsonSerializer.mimetype: OrjsonNdjsonSerializer()}


def async_client(url: str, **options: Any) -> AsyncElasticsearch:
    """An asyncio client of the cluster at `url`; `options` as AsyncElasticsearch's (request_timeout…)."""
    return AsyncElasticsearch(url, serializers=SERIALIZERS, **options)


def client(url: str, **options: Any) -> Elasticsearch:
    """A blocking client of the cluster at `url`, for the CLI, the demo and the benchmarks."""
    return Elasticsearch(url, serializers=SERIALIZERS, **options)
