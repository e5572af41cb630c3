"""The canary: Avro over Kafka with a registry schema id → a Faust agent → Elasticsearch → found by search."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer
from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.streams import canary
from tests.integration.waiting import wait_for


def test_event_produced_with_confluent_kafka_is_found_in_elasticsearch(
    settings: Settings, worker: subprocess.Popen[bytes]
) -> None:
    topic = canary.topic_name(settings)
    codec = AvroCodec(settings.registry, canary.SCHEMA)
    canary_id = str(uuid.uuid4())
    payload = codec.encode(
        topic, {"canary_id": canary_id, "message": "信阳市金丝雀 canary", "sent_at": datetime.now(UTC)}
    )
    assert payload[0] == 0, "Confluent wire format: magic byte 0, then the registry's schema id"

    producer = Producer(
        {"bootstrap.servers": settings.kafka_servers, "enable.idempotence": True, "partitioner": "murmur2_random"}
    )
    producer.produce(topic, key=canary_id, value=payload)
    assert producer.flush(30) == 0

    es = Elasticsearch(settings.elasticsearch)

    def found() -> list[dict[str, Any]] | None:
        assert worker.poll() is None, "the worker exited; see test-artifacts/worker.log"
        if not es.indices.exists(index=canary.index_name(settings)):
            return None
        hits = es.search(index=canary.index_name(settings), query={"match_phrase": {"message": "金丝雀"}})
        return [hit["_source"] for hit in hits["hits"]["hits"]] or None

    sources = wait_for(found, timeout=90, what="the canary in Elasticsearch")
    assert [s["canary_id"] for s in sources] == [canary_id]
    assert codec.decode(topic, payload)["message"] == "信阳市金丝雀 canary"
