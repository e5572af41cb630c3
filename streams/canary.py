"""The canary agent: Avro events from the canary topic into a searchable Elasticsearch index.

It is the smallest complete path through every real part — Kafka, the schema registry, a Faust agent,
Elasticsearch — and the pattern the publishing agents follow: take a batch without acking, write it in bulk,
ack only after the write succeeded.
"""

from __future__ import annotations

from typing import Any

import faust
from elasticsearch.helpers import async_bulk

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.avro import AvroCodec
from sgs.streams.batches import ack_all, unacked_batches

SCHEMA = "canary"


def topic_name(settings: Settings) -> str:
    return f"{settings.topic_prefix}canary"


def index_name(settings: Settings) -> str:
    return f"{settings.index_prefix}canary"


def register(app: faust.App, settings: Settings) -> None:
    topic = app.topic(topic_name(settings), key_type=str, value_type=bytes, value_serializer="raw")
    codec = AvroCodec(settings.registry, SCHEMA)
    es = search_client.async_client(settings.elasticsearch)
    index = index_name(settings)

    @app.agent(topic, name=f"{settings.topic_prefix}canary-indexer")
    async def index_canaries(stream: faust.StreamT[bytes]) -> None:
        async for events in unacked_batches(stream, 500, within=0.2):
            actions: list[dict[str, Any]] = []
            for event in events:
                value = codec.decode(topic_name(settings), event.value)
                actions.append({"_index": index, "_id": value["canary_id"], "_source": _document(value)})
            await async_bulk(es, actions, refresh="wait_for")
            await ack_all(stream, events)


def _document(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "canary_id": str(value["canary_id"]),
        "message": value["message"],
        "sent_at": value["sent_at"].isoformat(),
    }
