"""The bulk writer against the real Elasticsearch, and against a small HTTP peer that answers like a busy one."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from aiohttp import web
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch

from sgs.config import Settings
from sgs.connectors.search_indices import SEARCHED, WRITTEN, IndexNames, ensure_indices, public_query_filter
from sgs.connectors.search_writer import BulkWriter, IndexWrite, RetriesExhaustedError, WriteResult, documents_for
from sgs.deploy.local.stack import LocalStack
from tests.integration.conftest import free_port

T = TypeVar("T")
NOW = datetime(2025, 6, 30, 8, 0, tzinfo=UTC)
DECISION = "penalty:11411500MB0000000X:信环罚〔2025〕12号"


@pytest.fixture(scope="module")
def names(settings: Settings, stack: LocalStack) -> Iterator[IndexNames]:
    """Indices of this module only, so the pipeline's tests never see these documents."""
    names = IndexNames(f"{settings.index_prefix}writer-")

    async def create() -> list[str]:
        async with AsyncElasticsearch(settings.elasticsearch) as es:
            return await ensure_indices(es, names)

    assert asyncio.run(create()) == list(names.aliases)
    yield names
    with Elasticsearch(settings.elasticsearch) as es:
        es.indices.delete(index=list(es.indices.get(index=f"{names.prefix}*")))


def run_with(settings: Settings, action: Callable[[AsyncElasticsearch], Coroutine[Any, Any, T]]) -> T:
    async def run() -> T:
        async with AsyncElasticsearch(settings.elasticsearch) as es:
            return await action(es)

    return asyncio.run(run())


def write(settings: Settings, writes: list[IndexWrite]) -> list[WriteResult]:
    return run_with(settings, lambda es: BulkWriter(es).write(writes))


def current(status: str, sequence: int, subject_name: str, decision_id: str = DECISION) -> dict[str, Any]:
    public = {"decision_id": decision_id, "kind": "penalty", "subject_name": subject_name}
    return {
        "decision_id": decision_id,
        "kind": "penalty",
        "sequence": sequence,
        "status": status,
        "public_document": json.dumps(public, ensure_ascii=False),
        "archive_document": json.dumps(public | {"legal_representative_id_number": "411503197001014567"}),
    }


def source(settings: Settings, index: str, doc_id: str) -> dict[str, Any]:
    with Elasticsearch(settings.elasticsearch) as es:
        found: dict[str, Any] = es.get(index=index, id=doc_id)["_source"]
        return found


def test_ensure_indices_twice_is_harmless(settings: Settings, names: IndexNames) -> None:
    assert run_with(settings, lambda es: ensure_indices(es, names)) == []
    with Elasticsearch(settings.elasticsearch) as es:
        for alias in names.aliases:
            assert list(es.indices.get_alias(name=alias)) == [f"{alias}-v1"]
        assert es.indices.get_mapping(index=names.archive)[f"{names.archive}-v1"]["mappings"]["dynamic"] == "strict"


def test_ensure_indices_gives_existing_indices_their_merge_policy(settings: Settings, names: IndexNames) -> None:
    public, archive = names.public_alias("penalty"), names.archive
    with Elasticsearch(settings.elasticsearch) as es:
        es.indices.put_settings(index=public, settings=WRITTEN.settings())  # Elasticsearch's defaults, as before
        es.indices.put_settings(index=archive, settings=SEARCHED.settings())
    run_with(settings, lambda es: ensure_indices(es, names))
    with Elasticsearch(settings.elasticsearch) as es:
        for alias, wanted in ((public, SEARCHED), (archive, WRITTEN)):
            (index,) = es.indices.get_settings(index=alias).values()
            assert index["settings"]["index"]["merge"]["policy"] == {
                "segments_per_tier": str(wanted.segments_per_tier),
                "floor_segment": wanted.floor_segment,
            }


def test_workers_ensuring_indices_at_once_create_each_alias_once(settings: Settings, stack: LocalStack) -> None:
    names = IndexNames(f"{settings.index_prefix}racing-")

    async def race() -> list[list[str]]:
        async with AsyncElasticsearch(settings.elasticsearch) as es:
            return await asyncio.gather(*(ensure_indices(es, names) for _ in range(3)))

    try:
        created = asyncio.run(race())
        assert sorted(alias for each in created for alias in each) == sorted(names.aliases)
    finally:
        with Elasticsearch(settings.elasticsearch) as es:
            es.indices.delete(index=list(es.indices.get(index=f"{names.prefix}*")))


def test_external_versions_make_replays_and_late_versions_stale(settings: Settings, names: IndexNames) -> None:
    doc_id, alias = "penalty:versions", names.public_alias("penalty")

    def at(sequence: int, name: str) -> IndexWrite:
        return IndexWrite(alias, doc_id, sequence, {"decision_id": doc_id, "subject_name": name, "withdrawn": False})

    conflicts: list[int] = []
    writer = run_with(settings, lambda es: BulkWriter(es, on_conflict=conflicts.append).write([at(2, "二")]))
    assert [r.outcome for r in writer] == ["written"]
    results = run_with(
        settings, lambda es: BulkWriter(es, on_conflict=conflicts.append).write([at(1, "一"), at(2, "重放")])
    )
    assert [(r.doc_id, r.index, r.outcome, r.error) for r in results] == [
        (doc_id, alias, "stale", None),
        (doc_id, alias, "stale", None),
    ]
    assert conflicts == [2]
    assert source(settings, alias, doc_id)["subject_name"] == "二"
    assert [r.outcome for r in write(settings, [at(3, "三")])] == ["written"]
    assert source(settings, alias, doc_id)["subject_name"] == "三"


def test_a_withdrawn_decision_stays_withdrawn_when_an_older_version_arrives(
    settings: Settings, names: IndexNames
) -> None:
    active, revoked = current("active", 1, "某公司"), current("revoked", 2, "某公司")
    assert [r.outcome for r in write(settings, documents_for(revoked, names, indexed_at=NOW))] == ["written"] * 2
    late = write(settings, documents_for(active, names, indexed_at=NOW))
    assert [r.outcome for r in late] == ["stale", "stale"]
    public = source(settings, names.public_alias("penalty"), DECISION)
    assert public["withdrawn"] is True and public["withdrawn_reason"] == "revoked"
    assert source(settings, names.archive, DECISION)["publication_status"] == "revoked"
    with Elasticsearch(settings.elasticsearch) as es:
        es.indices.refresh(index=names.public_alias("penalty"))
        query = {"bool": {"must": [{"match_phrase": {"subject_name": "某公司"}}], "filter": [public_query_filter()]}}
        assert es.search(index=names.public_alias("penalty"), query=query)["hits"]["total"]["value"] == 0
        del query["bool"]["filter"]
        assert es.search(index=names.public_alias("penalty"), query=query)["hits"]["total"]["value"] == 1


def test_documents_the_mapping_does_not_know_are_rejected(settings: Settings, names: IndexNames) -> None:
    alias = names.public_alias("licence")
    good = IndexWrite(alias, "licence:good", 1, {"decision_id": "licence:good", "withdrawn": False})
    unknown = IndexWrite(alias, "licence:unknown", 1, {"decision_id": "licence:unknown", "surprise": "x"})
    # A `never`-public field in a public document is a mapping error too: invariant 4 holds at the index.
    leak = IndexWrite(alias, "licence:leak", 1, {"legal_representative_id_number": "411503197001014567"})
    malformed = IndexWrite(alias, "licence:date", 1, {"decision_date": "not a date"})
    results = write(settings, [good, unknown, leak, malformed])
    assert [r.outcome for r in results] == ["written", "rejected", "rejected", "rejected"]
    assert results[0].error is None
    assert results[1].error is not None and "strict_dynamic_mapping_exception" in results[1].error
    assert results[1].error is not None and "surprise" in results[1].error
    assert results[2].error is not None and "legal_representative_id_number" in results[2].error
    assert results[3].error is not None and "decision_date" in results[3].error


def test_a_document_that_makes_elasticsearch_refuse_the_whole_request_is_rejected_alone(
    settings: Settings, names: IndexNames
) -> None:
    """Elasticsearch answers 400 to the whole bulk for one document in it (an id over 512 bytes, an illegal
    version): the others are still written, and only that document comes back rejected."""
    alias = names.public_alias("penalty")
    long_id = "penalty:11411500MB0000000X:" + "罚" * 200 + "号"
    writes = [
        IndexWrite(alias, "penalty:first", 1, {"decision_id": "penalty:first", "withdrawn": False}),
        IndexWrite(alias, long_id, 1, {"decision_id": long_id, "withdrawn": False}),
        IndexWrite(alias, "penalty:illegal", -5, {"decision_id": "penalty:illegal", "withdrawn": False}),
        IndexWrite(alias, "penalty:last", 1, {"decision_id": "penalty:last", "withdrawn": False}),
    ]
    results = write(settings, writes)
    assert [r.outcome for r in results] == ["written", "rejected", "rejected", "written"]
    assert results[1].error is not None and "512" in results[1].error
    assert results[2].error is not None and "illegal version" in results[2].error
    assert source(settings, alias, "penalty:last")["decision_id"] == "penalty:last"


@asynccontextmanager
async def busy_elasticsearch(
    answers: Callable[[str], int], whole: Callable[[], int] = lambda: 200
) -> AsyncIterator[tuple[str, list[list[str]]]]:
    """A real HTTP peer speaking Elasticsearch's bulk format: `whole()` is each request's status, `answers(id)`
    each item's. Yields its URL and the ids of every bulk request it received."""
    requests: list[list[str]] = []

    async def bulk(request: web.Request) -> web.Response:
        lines = [json.loads(line) for line in (await request.text()).splitlines() if line]
        ids = [action["index"]["_id"] for action in lines[::2]]
        requests.append(ids)
        headers = {"X-Elastic-Product": "Elasticsearch"}
        status = whole()
        if status != 200:
            error = {"error": {"type": "unavailable", "reason": "busy"}, "status": status}
            return web.json_response(error, status=status, headers=headers)
        items = []
        for action in lines[::2]:
            meta, status = action["index"], answers(action["index"]["_id"])
            item = {"_index": meta["_index"], "_id": meta["_id"], "status": status}
            if status == 429:
                item["error"] = {"type": "es_rejected_execution_exception", "reason": "rejected execution"}
            items.append({"index": item})
        body = {"took": 1, "errors": any(i["index"]["status"] >= 300 for i in items), "items": items}
        return web.json_response(body, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/_bulk", bulk)  # the client sends PUT
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", requests
    finally:
        await runner.cleanup()


def writes_of(*ids: str) -> list[IndexWrite]:
    return [IndexWrite("sgs-penalties", doc_id, 1, {"decision_id": doc_id}) for doc_id in ids]


def test_items_answered_429_are_retried_alone_until_written(caplog: pytest.LogCaptureFixture) -> None:
    refusals = {"b": 2, "d": 1}  # how many times each document is refused before it is taken

    def answers(doc_id: str) -> int:
        if refusals.get(doc_id, 0) > 0:
            refusals[doc_id] -= 1
            return 429
        return 201

    retried: list[int] = []
    bulks: list[str] = []

    async def run() -> tuple[list[WriteResult], list[list[str]]]:
        async with busy_elasticsearch(answers) as (url, requests), AsyncElasticsearch(url) as es:
            writer = BulkWriter(
                es,
                on_retry=retried.append,
                on_bulk=lambda indices, _: bulks.append(indices),
                first_backoff=0.01,
                max_backoff=0.02,
            )
            return await writer.write(writes_of("a", "b", "c", "d")), requests

    with caplog.at_level(logging.WARNING, logger="sgs.connectors.search_writer"):
        results, requests = asyncio.run(run())
    assert [(r.doc_id, r.outcome) for r in results] == [(i, "written") for i in "abcd"]
    assert requests == [["a", "b", "c", "d"], ["b", "d"], ["b"]]
    assert retried == [2, 1] and bulks == ["sgs-penalties"] * 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "sgs.connectors.search_writer"]
    assert len(warnings) == 2 and "attempt 1" in warnings[0] and "attempt 2" in warnings[1]
    assert "429 es_rejected_execution_exception" in warnings[0]


def test_a_busy_cluster_answering_503_holds_the_batch_until_it_recovers() -> None:
    busy = iter([503] * 6)

    async def run() -> tuple[list[WriteResult], list[list[str]]]:
        async with (
            busy_elasticsearch(lambda _: 201, lambda: next(busy, 200)) as (url, requests),
            AsyncElasticsearch(url, max_retries=0) as es,
        ):
            writer = BulkWriter(es, first_backoff=0.01, max_backoff=0.02)
            return await writer.write(writes_of("a", "b")), requests

    results, requests = asyncio.run(run())
    assert [r.outcome for r in results] == ["written", "written"]
    assert len(requests) == 7


def test_a_request_refused_for_no_document_stops_the_batch_instead_of_rejecting_it() -> None:
    """A proxy's or a misconfigured cluster's 400 is no document's fault: dead-lettering the whole batch would
    take every decision in it out of the public index. The write raises; the batch stays unacknowledged."""

    async def run() -> list[list[str]]:
        async with (
            busy_elasticsearch(lambda _: 201, lambda: 400) as (url, requests),
            AsyncElasticsearch(url, max_retries=0) as es,
        ):
            with pytest.raises(ApiError):
                await BulkWriter(es).write(writes_of("a", "b", "c"))
            return requests

    assert asyncio.run(run()) == [["a", "b", "c"]]  # tried once, not halved into single documents


def test_an_unreachable_cluster_is_retried_with_a_warning_each_attempt(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        async with AsyncElasticsearch(f"http://127.0.0.1:{free_port()}", max_retries=0) as es:
            await BulkWriter(es, first_backoff=0.01, max_backoff=0.02, max_attempts=4).write(writes_of("a"))

    with (
        caplog.at_level(logging.WARNING, logger="sgs.connectors.search_writer"),
        pytest.raises(RetriesExhaustedError, match="1 documents not written in 4 attempts: unreachable"),
    ):
        asyncio.run(run())
    warnings = [r.getMessage() for r in caplog.records if r.name == "sgs.connectors.search_writer"]
    assert [f"attempt {n} " in message for n, message in enumerate(warnings, 1)] == [True] * 3
