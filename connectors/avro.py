"""Avro values in the Confluent wire format (magic byte, 4-byte schema id, body), ids from the schema registry.

Producers and consumers name a schema by its `.avsc` file; the registry assigns the id that travels with each
message, so any Confluent-compatible registry (Apicurio's ccompat API locally, Confluent's elsewhere) serves.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.common.serde import SubjectNameStrategyType
from confluent_kafka.serialization import MessageField, SerializationContext

from sgs.schemas.contracts import schema_text


class AvroCodec:
    """Encode and decode one schema's values for topics whose subjects follow the topic-name strategy."""

    def __init__(self, registry_url: str, schema_name: str) -> None:
        # Without a timeout a response lost on a kept-alive connection blocks forever; with one, it is retried.
        self._registry = SchemaRegistryClient({"url": registry_url, "timeout": 10, "max.retries": 5})
        # Subjects are `<topic>-value`. The client's default strategy first asks the registry for subject
        # "associations", an endpoint Apicurio does not have: one wasted round trip per new subject.
        by_topic = {"subject.name.strategy.type": SubjectNameStrategyType.TOPIC}
        self._serializer = AvroSerializer(self._registry, schema_text(schema_name), conf=by_topic)
        self._deserializer = AvroDeserializer(self._registry, conf=by_topic)

    def encode(self, topic: str, value: dict[str, Any]) -> bytes:
        data = self._serializer(value, SerializationContext(topic, MessageField.VALUE))
        assert data is not None
        return bytes(data)

    def decode(self, topic: str, data: bytes) -> dict[str, Any]:
        """Decode a value written with any registered schema; raises on bytes that are not such a value."""
        value = self._deserializer(data, SerializationContext(topic, MessageField.VALUE))
        if not isinstance(value, dict):
            raise ValueError("not an Avro record in the Confluent wire format")
        return value
