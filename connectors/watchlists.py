"""Watchlists (关注名单): a department asks to hear of any new penalty against named subjects.

Each change is a `Watch` record on sanctions.watch keyed by the subject's unified code, so the sanction join
that owns the subject applies it (`sgs.streams.sanctions`); what a department watches is the fold of its
records, read back from the topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.streams.topics import Topics, filled_ends


def watch(settings: Settings, department_code: str, subject_codes: Iterable[str], *, watching: bool = True) -> int:
    """Start (or stop) watching subjects; returns how many records the broker took."""
    topic, codec = Topics(settings.topic_prefix).watch, AvroCodec(settings.registry, "watch")
    producer = Producer(
        {"bootstrap.servers": settings.kafka_servers, "enable.idempotence": True, "partitioner": "murmur2_random"}
    )
    sent = 0
    for subject in subject_codes:
        record = {
            "subject_code": subject,
            "department_code": department_code,
            "watching": watching,
            "at": datetime.now(UTC),
        }
        producer.produce(topic, key=subject, value=codec.encode(topic, record))
        sent += 1
    if producer.flush(30):
        raise RuntimeError("Kafka did not acknowledge every watchlist change")
    return sent


def watched_by(settings: Settings, department_code: str) -> list[str]:
    """The subjects a department watches now."""
    topic, codec = Topics(settings.topic_prefix).watch, AvroCodec(settings.registry, "watch")
    consumer = Consumer({"bootstrap.servers": settings.kafka_servers, "group.id": f"watchlist-{uuid.uuid4().hex[:8]}"})
    try:
        partitions = consumer.list_topics(topic, timeout=15).topics[topic].partitions
        ends = filled_ends(consumer, topic, partitions, 15)
        consumer.assign([TopicPartition(topic, partition, 0) for partition in ends])
        watching: dict[str, bool] = {}
        while ends:
            message = consumer.poll(15)
            if message is None:
                raise TimeoutError(f"{topic} did not answer")
            if message.error() or message.value() is None:
                continue
            record = codec.decode(topic, message.value() or b"")
            if record["department_code"] == department_code:
                watching[record["subject_code"]] = record["watching"]
            if (message.offset() or 0) + 1 >= ends.get(message.partition() or 0, 0):
                ends.pop(message.partition() or 0, None)
    finally:
        consumer.close()
    return sorted(subject for subject, on in watching.items() if on)
