"""Talking to the real Kafka from tests: raw submissions (as a careless producer would send them) and reading
a whole topic back."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.connectors.publisher import RECORD_NAMES
from sgs.streams.topics import Topics, filled_ends


def envelope(
    department: str, kind: str, decision_id: str, record: dict[str, str] | None, version: int, operation: str = "upsert"
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "operation": operation,
        "version": version,
        "department_code": department,
        "submitted_at": datetime.now(UTC),
        "source": "sdk",
        "kind": kind,
        "decision_id": decision_id,
        "decision": (RECORD_NAMES[kind], record) if record is not None else None,
        "original": None,
    }


class RawSubmitter:
    """Produces submissions without the SDK's local checks, to see what the pipeline makes of them."""

    def __init__(self, settings: Settings) -> None:
        self.topic = Topics(settings.topic_prefix).submitted
        self.codec = AvroCodec(settings.registry, "submission")
        self.producer = Producer(
            {"bootstrap.servers": settings.kafka_servers, "enable.idempotence": True, "partitioner": "murmur2_random"}
        )

    def send(self, value: dict[str, Any], times: int = 1) -> str:
        payload = self.codec.encode(self.topic, value)
        for _ in range(times):
            self.producer.produce(self.topic, key=value["decision_id"], value=payload)
        return str(value["event_id"])

    def send_bytes(self, key: str, payload: bytes) -> None:
        self.producer.produce(self.topic, key=key, value=payload)

    def flush(self) -> None:
        assert self.producer.flush(30) == 0


def read_all(
    settings: Settings, topic: str, schema: str, keys: Collection[str] | None = None
) -> list[tuple[str | None, dict[str, Any]]]:
    """Every record of `topic` from the beginning to its current end, decoded (with `keys`: only those keyed so;
    other tests leave undecodable bytes on the submissions topic)."""
    codec = AvroCodec(settings.registry, schema)
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_servers, "group.id": f"test-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    ends = filled_ends(consumer, topic, metadata.partitions, 10)
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    records: list[tuple[str | None, dict[str, Any]]] = []
    while ends:
        message = consumer.poll(5)
        if message is None:
            break
        if message.error():
            continue
        value, key, offset = message.value(), message.key(), message.offset() or 0
        decoded_key = key.decode() if key else None
        if value is not None and (keys is None or decoded_key in keys):
            records.append((decoded_key, codec.decode(topic, value)))
        if offset + 1 >= ends.get(message.partition() or 0, 0):
            ends.pop(message.partition() or 0, None)
    consumer.close()
    return records
