"""The orjson body codec of sgs's Elasticsearch clients writes what the client's standard one would."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from elasticsearch.serializer import JsonSerializer, NdjsonSerializer
from hypothesis import given
from hypothesis import strategies as st

from sgs.connectors.search_client import SERIALIZERS, async_client

NDJSON, JSON = "application/x-ndjson", "application/json"

documents = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(), st.lists(st.text(), max_size=3)),
    max_size=6,
)


@given(st.lists(documents, max_size=5))
def test_bulk_bodies_read_back_as_the_standard_serializer_writes_them(lines: list[dict[str, Any]]) -> None:
    ours, standard = SERIALIZERS[NDJSON].dumps(lines), NdjsonSerializer().dumps(lines)
    assert [json.loads(line) for line in ours.splitlines()] == [json.loads(line) for line in standard.splitlines()]


def test_dates_and_decimals_are_written_as_the_client_writes_them() -> None:
    value = {"decided": date(2026, 12, 3), "at": datetime(2026, 12, 3, 8, 0, tzinfo=UTC), "amount": Decimal("1.5")}
    assert json.loads(SERIALIZERS[JSON].dumps(value)) == json.loads(JsonSerializer().dumps(value))
    assert json.loads(SERIALIZERS[NDJSON].dumps([value])) == json.loads(JsonSerializer().dumps(value))


def test_the_client_reads_compatibility_mode_responses_with_orjson_too() -> None:
    es = async_client("http://127.0.0.1:9")
    collection = es.transport.serializers
    for mimetype in (JSON, NDJSON, "application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson"):
        assert type(collection.get_serializer(mimetype)).__name__.startswith("Orjson"), mimetype
