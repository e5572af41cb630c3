"""The Avro contracts in schemas/avro/: parsed schemas and schemaless encode/decode.

Wire-format agnostic: these functions read and write the Avro body only; framing (the Confluent magic byte and
schema id) belongs to the transport (sgs.connectors.avro).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import fastavro

Schema = Any  # fastavro's parsed schema (a dict with its own private keys)


def schema_text(name: str, version: int | None = None) -> str:
    """The committed schema `avro/<name>.avsc`, or the released `avro/history/<name>.v<version>.avsc`."""
    base = resources.files("sgs.schemas") / "avro"
    path = base / f"{name}.avsc" if version is None else base / "history" / f"{name}.v{version}.avsc"
    return path.read_text(encoding="utf-8")


@functools.cache
def load_schema(name: str, version: int | None = None) -> Schema:
    """A schema parsed by fastavro, once per process (the current one, or a released version)."""
    return fastavro.parse_schema(json.loads(schema_text(name, version)))


def history_versions(name: str) -> tuple[int, ...]:
    """The released versions of a schema kept in avro/history, oldest first."""
    prefix = f"{name}.v"
    found = []
    for entry in (resources.files("sgs.schemas") / "avro" / "history").iterdir():
        file = entry.name
        if file.startswith(prefix) and file.endswith(".avsc") and file[len(prefix) : -5].isdigit():
            found.append(int(file[len(prefix) : -5]))
    return tuple(sorted(found))


def encode(name: str, record: Mapping[str, Any]) -> bytes:
    """The Avro body of `record` under the current schema `name` (raises if the record does not fit it)."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, load_schema(name), record)
    return out.getvalue()


def decode(name: str, data: bytes, *, writer: Schema | None = None) -> dict[str, Any]:
    """Read an Avro body as the current schema `name`. `writer` is the schema the bytes were written with
    when it is another (older) version; Avro's resolution rules (defaults, aliases, promotions) apply.

    Logical types come back as Python objects: uuid → uuid.UUID, timestamp-millis → aware datetime (UTC).
    """
    reader = load_schema(name)
    value = fastavro.schemaless_reader(io.BytesIO(data), writer if writer is not None else reader, reader)
    if not isinstance(value, dict):
        raise ValueError(f"{name}: not a record")
    return value
