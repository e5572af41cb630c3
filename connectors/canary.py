"""The canary's client side: send one canary event through Kafka and find it in Elasticsearch."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer
from elasticsearch import ApiError

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.avro import AvroCodec
from sgs.streams import canary

MESSAGE = "信阳市金丝雀 canary"


def encode(settings: Settings, canary_id: str, sent_at: datetime) -> bytes:
    codec = AvroCodec(settings.registry, canary.SCHEMA)
    return codec.encode(canary.topic_name(settings), {"canary_id": canary_id, "message": MESSAGE, "sent_at": sent_at})


def send(settings: Settings, now: datetime | None = None) -> str:
    """Produce one canary event (idempotent producer, murmur2 keys like the Java clients); return its id."""
    canary_id = str(uuid.uuid4())
    payload = encode(settings, canary_id, now or datetime.now(UTC))
    producer = Producer(
        {"bootstrap.servers": settings.kafka_servers, "enable.idempotence": True, "partitioner": "murmur2_random"}
    )
    producer.produce(canary.topic_name(settings), key=canary_id, value=payload)
    if producer.flush(30) != 0:
        raise RuntimeError(f"the broker at {settings.kafka_servers} did not acknowledge the canary")
    return canary_id


def find(settings: Settings, canary_id: str) -> dict[str, Any] | None:
    es = search_client.client(settings.elasticsearch)
    index = canary.index_name(settings)
    if not es.indices.exists(index=index):
        return None
    try:
        hits = es.search(index=index, query={"term": {"canary_id.keyword": canary_id}})["hits"]["hits"]
    except ApiError as exc:
        if exc.meta.status == 503:  # the index was just created and its shard is not started yet
            return None
        raise
    return dict(hits[0]["_source"]) if hits else None


def wait_found(settings: Settings, canary_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (found := find(settings, canary_id)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"canary {canary_id} not searchable in {settings.elasticsearch} after {timeout:.0f} s")
        time.sleep(0.2)
    return found
