"""The canary: Avro over Kafka with a registry schema id → a Faust agent → Elasticsearch → found by search."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors import canary as canary_client
from sgs.connectors.avro import AvroCodec
from sgs.streams import canary
from tests.integration.conftest import WorkerProcess
from tests.integration.waiting import wait_for


def test_canary_payload_is_confluent_wire_format_with_a_registry_id(settings: Settings, stack: object) -> None:
    payload = canary_client.encode(settings, str(uuid.uuid4()), datetime.now(UTC))
    assert payload[0] == 0, "magic byte"
    schema_id = int.from_bytes(payload[1:5], "big")
    codec = AvroCodec(settings.registry, canary.SCHEMA)
    assert codec.decode(canary.topic_name(settings), payload)["message"] == canary_client.MESSAGE
    assert schema_id >= 0


def test_event_produced_with_confluent_kafka_is_found_in_elasticsearch(
    settings: Settings, worker: WorkerProcess
) -> None:
    canary_id = canary_client.send(settings)

    def searchable() -> bool:
        assert worker.alive(), f"the worker exited; see {worker.log_path}"
        return canary_client.find(settings, canary_id) is not None

    wait_for(searchable, timeout=90, what="the canary in Elasticsearch")
    # Found by a full-text phrase too, not only by id: the text went through the analyzer.
    es = Elasticsearch(settings.elasticsearch)
    hits = es.search(index=canary.index_name(settings), query={"match_phrase": {"message": "金丝雀"}})["hits"]["hits"]
    assert [hit["_source"]["canary_id"] for hit in hits] == [canary_id]
