"""Avro values in the Confluent wire format (magic byte 0, 4-byte schema id, body), ids from the schema registry.

Producers and consumers name a schema by its `.avsc` file; the registry assigns the id that travels with each
message, so any Confluent-compatible registry (Apicurio's ccompat API locally, Confluent's elsewhere) serves.
Subjects follow the topic-name strategy (`<topic>-value`).

The framing is done here with fastavro rather than by confluent-kafka's AvroSerializer/AvroDeserializer:
those re-walk the schema for every message (measured at 40 % of a worker's decoding time); here each
schema is parsed once per id and cached.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import fastavro

from sgs.schemas.contracts import load_schema, schema_text

MAGIC = 0
_HEADER = struct.Struct(">bI")


def framed(schema_id: int, schema: Any, value: dict[str, Any]) -> bytes:
    """`value` written with the parsed `schema` that the registry knows as `schema_id`, in the wire format. Needs no
    registry: processes that only encode (`sgs publish`'s row checkers) are given the id."""
    out = io.BytesIO()
    out.write(_HEADER.pack(MAGIC, schema_id))
    fastavro.schemaless_writer(out, schema, value)
    return out.getvalue()


class AvroCodec:
    """Encode values of one schema, and decode values written with any registered schema into it."""

    def __init__(self, registry_url: str, schema_name: str) -> None:
        # Imported here: the registry client costs most of a second to import, and processes that only frame
        # values (`framed`) never need it.
        from confluent_kafka.schema_registry import SchemaRegistryClient

        # Without a timeout a response lost on a kept-alive connection blocks forever; with one, it is retried.
        self._registry = SchemaRegistryClient({"url": registry_url, "timeout": 10, "max.retries": 5})
        self._text = schema_text(schema_name)
        self._schema = load_schema(schema_name)
        self._ids: dict[str, int] = {}  # subject -> id of our schema, once registered
        # id -> (writer schema, reader schema or None when the writer is ours: resolution doubles decoding time)
        self._readers: dict[int, tuple[Any, Any]] = {}

    def schema_id(self, topic: str) -> int:
        """The registry's id of this codec's schema for `topic` (registered on first use)."""
        subject = f"{topic}-value"
        schema_id = self._ids.get(subject)
        if schema_id is None:
            from confluent_kafka.schema_registry import Schema

            schema_id = self._ids[subject] = self._registry.register_schema(subject, Schema(self._text, "AVRO"))
        return schema_id

    def encode(self, topic: str, value: dict[str, Any]) -> bytes:
        return framed(self.schema_id(topic), self._schema, value)

    def decode(self, topic: str, data: bytes) -> dict[str, Any]:
        """Decode a value written with any registered schema; raises ValueError on anything else."""
        if len(data) < _HEADER.size + 1 or data[0] != MAGIC:
            raise ValueError("not an Avro value in the Confluent wire format (magic byte, schema id, body)")
        _, schema_id = _HEADER.unpack_from(data)
        reading = self._readers.get(schema_id)
        if reading is None:
            written = json.loads(self._registry.get_schema(schema_id).schema_str or "{}")
            if written == json.loads(self._text):
                reading = (self._schema, None)
            else:
                reading = (fastavro.parse_schema(written), self._schema)
            self._readers[schema_id] = reading
        try:
            value = fastavro.schemaless_reader(io.BytesIO(data[_HEADER.size :]), *reading)
        except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
            raise ValueError(f"Avro body does not match schema {schema_id}: {exc}") from exc
        if not isinstance(value, dict):
            raise ValueError("not an Avro record")
        return value
