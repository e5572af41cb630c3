"""Rebuilding the public and archive indices from decisions.current alone (invariant 7), on the real stack."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from elasticsearch import AsyncElasticsearch, Elasticsearch

from sgs.cli.reindex import reindex
from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.connectors.rebuild import RebuildError, RebuildReport, TopicReader, rebuild
from sgs.connectors.search_indices import IndexNames, ensure_indices, public_query_filter
from sgs.connectors.search_writer import BulkWriter, IndexWrite
from sgs.deploy.local.stack import LocalStack
from sgs.streams.topics import Topics, ensure_topics

AUTHORITY = "11411500MB0000000X"
UPDATED = datetime(2025, 6, 4, 2, tzinfo=UTC)  # when the worker made each state


def decision_id(kind: str, number: int) -> str:
    return f"{kind}:{AUTHORITY}:信环罚〔2025〕{number}号"


def current(kind: str, number: int, sequence: int, status: str = "active", name: str = "") -> dict[str, Any]:
    """A current-state record (current.avsc); `name` empty: a revoke of a decision never seen."""
    did = decision_id(kind, number)
    view = {"decision_id": did, "kind": kind, "subject_name": name, "document_number": f"信环罚[2025]{number}号"}
    return {
        "decision_id": did,
        "kind": kind,
        "sequence": sequence,
        "version": sequence,
        "status": status,
        "department_code": AUTHORITY,
        "subject_code": None,
        "decision_date": "2025-06-03",
        "publication_end": None,
        "event_id": str(uuid.uuid4()),
        "content_hash": "0" * 64,
        "updated_at": UPDATED,
        "public_document": json.dumps(view, ensure_ascii=False) if name else None,
        "archive_document": json.dumps(view | {"legal_representative_id_number": "411503197001014567"})
        if name
        else None,
    }


class Feed:
    """The session-unique decisions.current topic of one scenario, and its indices."""

    def __init__(self, settings: Settings, scenario: str) -> None:
        self.settings = dataclasses.replace(
            settings,
            topic_prefix=f"{settings.topic_prefix}{scenario}.",
            index_prefix=f"{settings.index_prefix}{scenario}-",
        )
        self.topic, self.names = Topics(self.settings.topic_prefix).current, IndexNames(self.settings.index_prefix)
        ensure_topics(self.settings)
        self.codec = AvroCodec(self.settings.registry, "current")
        self.producer = Producer({"bootstrap.servers": self.settings.kafka_servers, "partitioner": "murmur2_random"})

    def send(self, *records: dict[str, Any]) -> None:
        for record in records:
            self.producer.produce(self.topic, key=record["decision_id"], value=self.codec.encode(self.topic, record))
        assert self.producer.flush(30) == 0

    def send_raw(self, key: str, value: bytes | None) -> None:
        self.producer.produce(self.topic, key=key, value=value)
        assert self.producer.flush(30) == 0

    def ensure_indices(self) -> None:
        async def run() -> None:
            async with AsyncElasticsearch(self.settings.elasticsearch) as es:
                await ensure_indices(es, self.names)

        asyncio.run(run())

    def rebuild(self, **options: Any) -> RebuildReport:
        return asyncio.run(rebuild(self.settings, **options))

    def close(self) -> None:
        with Elasticsearch(self.settings.elasticsearch) as es:
            created = list(es.indices.get(index=f"{self.names.prefix}*"))
            if created:
                es.indices.delete(index=created)
        admin = AdminClient({"bootstrap.servers": self.settings.kafka_servers})
        topics = [spec.name for spec in Topics(self.settings.topic_prefix).specs()]
        for future in admin.delete_topics(topics).values():
            future.result()


@pytest.fixture
def feed(settings: Settings, stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[Feed]:
    scenario = request.node.name.removeprefix("test_").replace("_", "")[:20]
    feed = Feed(settings, scenario)
    yield feed
    feed.close()


def ids(es: Elasticsearch, index: str, *, public: bool = False) -> dict[str, dict[str, Any]]:
    query = {"bool": {"filter": [public_query_filter()]}} if public else {"match_all": {}}
    hits = es.search(index=index, query=query, size=100)["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_rebuild_replaces_every_index_with_the_latest_state_of_each_decision(feed: Feed) -> None:
    feed.ensure_indices()
    names = feed.names
    # A document that only the old index knows: the rebuild reads the topic alone.
    orphan = IndexWrite(names.public_alias("penalty"), "penalty:orphan", 1, {"withdrawn": False})

    async def write_orphan() -> None:
        async with AsyncElasticsearch(feed.settings.elasticsearch) as es:
            await BulkWriter(es).write([orphan])

    asyncio.run(write_orphan())
    feed.send(
        current("licence", 1, 1, name="甲公司"),
        current("penalty", 2, 1, name="乙公司"),
        current("penalty", 3, 1, name="丙公司"),
        current("licence", 1, 2, name="甲公司（更正）"),
        current("penalty", 2, 2, status="revoked", name="乙公司"),
        current("penalty", 4, 1, status="revoked"),
        current("penalty", 5, 1, name="戊公司"),
    )
    feed.send_raw(decision_id("penalty", 5), None)  # a tombstone: the key is gone

    report = feed.rebuild()
    assert report.records == 8 and report.decisions == 4 and report.refused == []
    assert report.written == {names.public_alias("licence"): 1, names.public_alias("penalty"): 3, names.archive: 4}

    with Elasticsearch(feed.settings.elasticsearch) as es:
        for alias, index in report.indices.items():
            assert list(es.indices.get_alias(name=alias)) == [index]
            assert not es.indices.exists(index=f"{alias}-v1")
        licences, penalties = names.public_alias("licence"), names.public_alias("penalty")
        assert {i: d["subject_name"] for i, d in ids(es, licences, public=True).items()} == {
            decision_id("licence", 1): "甲公司（更正）"
        }
        assert set(ids(es, penalties, public=True)) == {decision_id("penalty", 3)}
        withdrawn = ids(es, penalties)
        assert set(withdrawn) == {decision_id("penalty", n) for n in (2, 3, 4)}
        assert withdrawn[decision_id("penalty", 2)]["withdrawn_reason"] == "revoked"
        assert withdrawn[decision_id("penalty", 2)]["document_number_normalized"] == "信环罚〔2025〕2号"
        archive = ids(es, names.archive)
        assert set(archive) == {decision_id("licence", 1)} | {decision_id("penalty", n) for n in (2, 3, 4)}
        assert archive[decision_id("penalty", 2)]["publication_status"] == "revoked"
        assert archive[decision_id("licence", 1)]["sequence"] == 2
        # Stamped when the worker made the state, not when rebuilt: feedback compares it with rejections.
        assert {document["indexed_at"] for document in archive.values()} == {UPDATED.isoformat()}
        first = report.indices

    # Again, through the command line: new indices in, the previous rebuild's out.
    result = CliRunner().invoke(reindex, [], env=feed.settings.to_env())
    assert result.exit_code == 0, result.output
    assert "4 decisions" in result.output
    with Elasticsearch(feed.settings.elasticsearch) as es:
        for alias, index in first.items():
            assert not es.indices.exists(index=index)
            (current_index,) = es.indices.get_alias(name=alias)
            assert current_index != index and current_index in result.output
        assert set(ids(es, names.public_alias("penalty"), public=True)) == {decision_id("penalty", 3)}
        assert len(ids(es, names.archive)) == 4


def test_refused_records_keep_the_old_indices_in_service(feed: Feed) -> None:
    feed.ensure_indices()
    feed.send(current("penalty", 1, 1, name="甲公司"))
    feed.send_raw(decision_id("penalty", 2), b"\x00\x00\x00\x00\x01not avro")
    with pytest.raises(RebuildError, match="1 records refused"):
        feed.rebuild()
    with Elasticsearch(feed.settings.elasticsearch) as es:
        for alias in feed.names.from_current_state:
            assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v1"]
        assert sorted(es.indices.get(index=f"{feed.names.prefix}*")) == sorted(
            f"{alias}-v1" for alias in feed.names.aliases
        )
    report = feed.rebuild(max_refused=1)
    assert report.written[feed.names.archive] == 1 and len(report.refused) == 1


def test_the_catch_up_pass_reads_only_what_arrived_after_the_first(feed: Feed) -> None:
    feed.send(current("penalty", 1, 1, name="甲公司"), current("penalty", 2, 1, name="乙公司"))
    reader = TopicReader(feed.settings.kafka_servers, feed.topic)
    try:
        first, end = reader.watermarks()
        latest, read = reader.latest(first, end, lambda _: None)
        assert read == 2 and set(latest) == {decision_id("penalty", n).encode() for n in (1, 2)}
        feed.send(current("penalty", 2, 2, status="revoked", name="乙公司"), current("penalty", 3, 1, name="丙公司"))
        _, now = reader.watermarks()
        latest, read = reader.latest(end, now, lambda _: None)
        assert read == 2 and set(latest) == {decision_id("penalty", n).encode() for n in (2, 3)}
    finally:
        reader.close()


def test_a_withheld_decision_is_rebuilt_as_a_stub(feed: Feed) -> None:
    """A decision the negative list withholds has no public document: its public index entry says only that it
    is withheld (it blocks older versions); the archive keeps it whole."""
    withheld = current("penalty", 1, 1, status="withheld", name="甲公司") | {"public_document": None}
    feed.send(withheld, current("penalty", 2, 1, name="乙公司"))
    feed.rebuild()
    with Elasticsearch(feed.settings.elasticsearch) as es:
        penalties = feed.names.public_alias("penalty")
        assert set(ids(es, penalties, public=True)) == {decision_id("penalty", 2)}
        stub = ids(es, penalties)[decision_id("penalty", 1)]
        assert stub["withdrawn_reason"] == "withheld" and "subject_name" not in stub
        archive = ids(es, feed.names.archive)[decision_id("penalty", 1)]
        assert archive["publication_status"] == "withheld" and archive["subject_name"] == "甲公司"
