"""Who sees and changes what through the gateway: with an in-memory directory, producer and index (no servers)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from elasticsearch import NotFoundError
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from sgs.config import Settings
from sgs.connectors import feedback
from sgs.connectors.departments import Department, DepartmentDirectory, key_index, new_department
from sgs.connectors.gateway import app as gateway_app
from sgs.connectors.gateway.app import AuthenticateFirst, create_app
from sgs.connectors.gateway.producer import Delivered
from sgs.connectors.importer import ImportSummary
from sgs.connectors.publisher import Prepared
from sgs.connectors.templates import TemplateError
from sgs.core.calendar import load_calendar
from sgs.core.fields import Kind

from .factories import AUTHORITY, DISTRICT_AUTHORITY, licence

NOW = datetime(2025, 6, 30, 4, tzinfo=UTC)
# Unused ports: nothing here may reach a real broker, registry or Elasticsearch.
SETTINGS = Settings(kafka_port=1, registry_port=1, elasticsearch_port=1)
KEY_A, DEPARTMENT_A = new_department(AUTHORITY, "部门甲", None, NOW)
KEY_B, DEPARTMENT_B = new_department(DISTRICT_AUTHORITY, "部门乙", None, NOW)


class Directory(DepartmentDirectory):
    def __init__(self, departments: Sequence[Department]) -> None:  # no topic
        self._departments = {d.code: d for d in departments}
        self._by_key = key_index(departments)


class Producer:
    broker_up = True

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, prepared: Sequence[Prepared]) -> list[Delivered]:
        self.sent.extend(p.envelope for p in prepared if p.envelope is not None)
        return [Delivered(0, len(self.sent), None) for _ in prepared]


class Index:
    """The few Elasticsearch calls the feedback module makes, over dicts."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        self.rejections: list[dict[str, Any]] = []

    async def get(self, index: str, id: str) -> dict[str, Any]:
        if (index, id) not in self.docs:
            raise NotFoundError("not found", meta=None, body={})  # type: ignore[arg-type]
        return {"_source": self.docs[(index, id)]}

    async def search(self, index: str, query: dict[str, Any], **_: Any) -> dict[str, Any]:
        terms = [f["term"] for f in query["bool"]["filter"]] if "bool" in query else [query["term"]]
        hits = [r for r in self.rejections if all(r.get(k) == v for t in terms for k, v in t.items())]
        hits.sort(key=lambda r: r["rejected_at"], reverse=True)
        return {"hits": {"hits": [{"_source": r} for r in hits]}}

    async def close(self) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[TestClient, Producer, Index]]:
    producer, index = Producer(), Index()
    app = create_app(
        SETTINGS,
        directory=Directory([DEPARTMENT_A, DEPARTMENT_B]),
        producer=producer,  # type: ignore[arg-type]
        elasticsearch=index,  # type: ignore[arg-type]
        calendar=load_calendar(None),
        clock=lambda: NOW,
        webhooks=False,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, producer, index


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def rejection(decision_id: str, department: str, at: str, message: str) -> dict[str, Any]:
    problem = {"field": "", "code": "x", "message": message}
    return {"decision_id": decision_id, "department_code": department, "rejected_at": at, "problems": [problem]}


def test_a_refused_submission_under_anothers_decision_id_does_not_open_that_decision(
    gateway: tuple[TestClient, Producer, Index],
) -> None:
    client, _, index = gateway
    decision_id = f"licence:{AUTHORITY}:信市监许〔2025〕101号"
    index.docs[("sgs-archive", decision_id)] = {"source_department_code": AUTHORITY, "publication_status": "active"}
    index.rejections.append(rejection(decision_id, AUTHORITY, "2025-06-29T00:00:00+00:00", "甲的退回原因"))
    # B sends A's decision id as its own data: the gateway takes it, the worker refuses it as not B's.
    index.rejections.append(rejection(decision_id, DISTRICT_AUTHORITY, "2025-06-30T00:00:00+00:00", "乙的"))
    assert client.get(f"/v1/decisions/{decision_id}/status", headers=bearer(KEY_B)).status_code == 403
    assert client.post(f"/v1/decisions/{decision_id}/revoke", headers=bearer(KEY_B)).status_code == 403
    own = client.get(f"/v1/decisions/{decision_id}/status", headers=bearer(KEY_A))
    assert own.status_code == 200
    # A is shown its own rejections only, and B's refused one does not make A's latest look rejected.
    assert [r["problems"][0]["message"] for r in own.json()["rejections"]] == ["甲的退回原因"]


def test_owners_are_the_holder_of_the_data_and_the_authority_else_the_rejected_senders() -> None:
    decision_id = f"penalty:{AUTHORITY}:1"
    refused = [{"department_code": DISTRICT_AUTHORITY}]
    # The authority named in the id may take over what another department reported in its name.
    assert feedback.owner_of(decision_id, {"source_department_code": "C"}, refused) == {"C", AUTHORITY}
    assert feedback.owner_of(decision_id, None, refused, {"department_code": "D"}) == {"D", AUTHORITY}
    assert feedback.owner_of(decision_id, None, refused) == {AUTHORITY, DISTRICT_AUTHORITY}


@pytest.mark.parametrize("version", [0, -5, 2**63, True, "7", 7.0])
def test_a_version_that_is_no_avro_long_or_no_version_is_a_422(
    gateway: tuple[TestClient, Producer, Index], version: object
) -> None:
    client, producer, _ = gateway
    body = {"kind": "licence", "record": licence(), "version": version}
    response = client.post("/v1/decisions", json=body, headers=bearer(KEY_A))
    assert response.status_code == 422 and producer.sent == []


def test_a_decision_named_twice_in_a_batch_gets_two_versions_the_later_one_higher(
    gateway: tuple[TestClient, Producer, Index],
) -> None:
    client, producer, _ = gateway
    first, corrected = licence(), licence() | {"remarks": "更正"}
    body = {"decisions": [{"kind": "licence", "record": first}, {"kind": "licence", "record": corrected}]}
    assert client.post("/v1/decisions", json=body, headers=bearer(KEY_A)).status_code == 202
    versions = [envelope["version"] for envelope in producer.sent]
    assert versions[1] == versions[0] + 1


class Consumer:
    """A departments topic of one partition holding `records` (offsets 0…)."""

    def __init__(self, records: list[str]) -> None:
        self.records, self.next_offset, self.assigned = records, 0, -1

    def list_topics(self, topic: str, timeout: float) -> Any:
        partition = type("Metadata", (), {"partitions": {0: None}, "error": None})()
        return type("Topics", (), {"topics": {topic: partition}})()

    def get_watermark_offsets(self, _partition: object, timeout: float) -> tuple[int, int]:
        return 0, len(self.records)

    def assign(self, partitions: list[Any]) -> None:
        self.next_offset = self.assigned = partitions[0].offset

    def position(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(p.topic, p.partition, self.next_offset) for p in partitions]

    def poll(self, _timeout: float) -> Any:
        if self.next_offset >= len(self.records):
            return None
        offset, self.next_offset = self.next_offset, self.next_offset + 1
        value = self.records[offset]
        return type("Message", (), {"error": lambda _: None, "value": lambda _: value, "partition": lambda _: 0,
                                    "offset": lambda _: offset})()  # fmt: skip

    def close(self) -> None:
        pass


def test_following_goes_on_from_where_loading_stopped() -> None:
    consumers: list[Consumer] = []
    applied: list[str] = []

    class Followed(DepartmentDirectory):
        def _consumer(self) -> Any:
            consumers.append(Consumer(["key active", "key revoked"]))
            return consumers[-1]

        def _apply(self, message: Any) -> None:
            applied.append(message.value())

    directory = Followed(dataclasses.replace(SETTINGS)).load()
    directory.follow()
    directory.close()
    # Read from the start again, "key active" would be in force once more until "key revoked" came by.
    assert consumers[1].assigned == 2 and applied == ["key active", "key revoked"]


def test_revoking_what_is_no_decision_id_is_a_422(gateway: tuple[TestClient, Producer, Index]) -> None:
    client, producer, _ = gateway
    response = client.post("/v1/decisions/abc/revoke", headers=bearer(KEY_A))
    assert response.status_code == 422 and response.json()["error"]["code"] == "revoke.decision_id"
    assert producer.sent == []


def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read() -> None:
    reached: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["state"]["department"].code)
        await receive()
        await JSONResponse({}, 202)(scope, receive, send)

    async def call(headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, Any], int]:
        reads, sent = 0, []

        async def receive() -> Message:
            nonlocal reads
            reads += 1
            return {"type": "http.request", "body": b"[" * 1000, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/decisions", "headers": headers}
        await AuthenticateFirst(endpoint, lambda: Directory([DEPARTMENT_A]))(scope, receive, send)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], json.loads(body), reads

    for headers in ([], [(b"authorization", b"Bearer nope")], [(b"authorization", f"Basic {KEY_A}".encode())]):
        status, body, reads = asyncio.run(call(headers))
        assert (status, reads) == (401, 0) and body["error"]["code"] in ("auth.missing", "auth.invalid")
    assert reached == []
    assert asyncio.run(call([(b"authorization", f"Bearer {KEY_A}".encode())]))[::2] == (202, 1)
    assert reached == [DEPARTMENT_A.code]


def test_public_paths_stay_open_and_a_refused_key_gets_the_usual_401(
    gateway: tuple[TestClient, Producer, Index],
) -> None:
    client, producer, _ = gateway
    for path in ("/openapi.json", "/docs", "/metrics"):
        assert client.get(path).status_code == 200, path
    refused = client.post("/v1/decisions", json={"kind": "licence", "record": licence()})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "auth.missing"
    assert refused.headers["www-authenticate"] == "Bearer" and refused.headers["connection"] == "close"
    assert producer.sent == []


def fake_import(rows: int, unreadable: bool) -> Callable[..., ImportSummary]:
    """import_file reduced to what the gateway's rate limit sees of it: rows read, then an answer."""

    def run(path: Path, *, kind: Kind | None, progress: Callable[[int], None], **_: Any) -> ImportSummary:
        for read in range(1, rows + 1):
            progress(read)
        if unreadable:
            raise TemplateError(f"第 {rows + 1} 行无法读取")
        return ImportSummary(path.name, kind or "licence", dry_run=False, read=rows, published=rows)

    return run


@pytest.mark.parametrize(("unreadable", "status"), [(False, 200), (True, 422)])
def test_an_import_costs_its_rows_against_the_rate_even_when_unreadable_past_some_row(
    monkeypatch: pytest.MonkeyPatch, unreadable: bool, status: int
) -> None:
    monkeypatch.setattr(gateway_app, "import_file", fake_import(10, unreadable))
    app = create_app(
        dataclasses.replace(SETTINGS, gateway_rate=1.0, gateway_burst=5.0),
        directory=Directory([DEPARTMENT_A]),
        producer=Producer(),  # type: ignore[arg-type]
        elasticsearch=Index(),  # type: ignore[arg-type]
        calendar=load_calendar(None),
        clock=lambda: NOW,
        webhooks=False,
    )
    with TestClient(app) as client:

        def upload(dry_run: bool) -> int:
            files = {"file": ("rows.jsonl", b"{}\n")}
            params = {"kind": "licence", "dry_run": str(dry_run).lower()}
            return client.post("/v1/imports", params=params, files=files, headers=bearer(KEY_A)).status_code

        assert upload(dry_run=True) == status  # a dry run publishes nothing and is not charged
        assert upload(dry_run=True) == status
        assert upload(dry_run=False) == status
        # 5 tokens: 2 for the dry runs, 1 to admit the import, then 9 charged for its other rows.
        after = client.post("/v1/decisions", json={"kind": "licence", "record": licence()}, headers=bearer(KEY_A))
        assert after.status_code == 429 and int(after.headers["retry-after"]) >= 7


class NoIndices(Index):
    """Elasticsearch before the first worker made the indices: a search with ignore_unavailable answers no hits
    and no `aggregations` at all."""

    async def search(self, index: str, query: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {"_shards": {"total": 0, "successful": 0}, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}


def test_feedback_before_the_indices_exist_is_an_empty_report_not_a_500() -> None:
    app = create_app(
        SETTINGS,
        directory=Directory([DEPARTMENT_A]),
        producer=Producer(),  # type: ignore[arg-type]
        elasticsearch=NoIndices(),  # type: ignore[arg-type]
        calendar=load_calendar(None),
        clock=lambda: NOW,
        webhooks=False,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/v1/feedback", headers=bearer(KEY_A))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [report[k] for k in ("pending", "at_risk", "overdue", "rejected_not_corrected")] == [[], [], [], []]


def test_buckets_of_an_answer_without_aggregations_are_none() -> None:
    assert feedback.buckets({"hits": {"hits": []}}, "by_decision") == []
    found = {"aggregations": {"by_decision": {"buckets": [{"key": "a"}]}}}
    assert feedback.buckets(found, "by_decision") == [{"key": "a"}]
    assert feedback.buckets(found, "other") == []


def test_a_body_with_names_the_api_does_not_define_is_a_422_and_nothing_is_produced(
    gateway: tuple[TestClient, Producer, Index],
) -> None:
    client, producer, _ = gateway
    one = {"kind": "licence", "record": licence()}
    for body, unknown in (
        ({**one, "decisions": [one]}, "kind、record"),  # was taken as a batch: the single record dropped
        ({**one, "verison": 3}, "verison"),
        ({"decisions": [{**one, "x": 1}]}, "decisions.0.x"),
    ):
        answer = client.post("/v1/decisions", json=body, headers=bearer(KEY_A))
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "request.malformed" and f"未定义的字段：{unknown}（" in error["message"]
        assert all(e["problem"] for e in error["errors"])
    revoke = client.post(f"/v1/decisions/licence:{AUTHORITY}:信市监许〔2025〕101号/revoke", json={"reason": "x"},
                         headers=bearer(KEY_A))  # fmt: skip
    assert revoke.status_code == 422 and "reason" in revoke.json()["error"]["message"]
    assert producer.sent == []
    assert client.post("/v1/decisions", json=one, headers=bearer(KEY_A)).status_code == 202
    assert client.post("/v1/decisions", json={"decisions": [one]}, headers=bearer(KEY_A)).status_code == 202


CANONICAL = f"penalty:{AUTHORITY}:信市监罚〔2026〕1号"
VARIANTS = (f"penalty:{AUTHORITY}:信市监罚[2026]1号", f"penalty:{AUTHORITY.lower()}:信市监罚（２０２６）１号")


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_revoke_under_any_spelling_of_the_id_withdraws_the_decision_itself(
    gateway: tuple[TestClient, Producer, Index], variant: str
) -> None:
    client, producer, index = gateway
    # B reported a decision of authority A: the archive, which only the canonical id finds, says it is B's.
    holder = {"source_department_code": DISTRICT_AUTHORITY, "publication_status": "active"}
    index.docs[("sgs-archive", CANONICAL)] = holder
    answer = client.post(f"/v1/decisions/{variant}/revoke", headers=bearer(KEY_B))
    assert answer.status_code == 202, answer.text
    assert [e["decision_id"] for e in producer.sent] == [CANONICAL]
    assert answer.json()["accepted"][0]["decision_id"] == CANONICAL


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_status_of_any_spelling_of_the_id_is_the_decisions_own(
    gateway: tuple[TestClient, Producer, Index], variant: str
) -> None:
    client, _, index = gateway
    index.docs[("sgs-archive", CANONICAL)] = {"source_department_code": AUTHORITY, "publication_status": "revoked"}
    answer = client.get(f"/v1/decisions/{variant}/status", headers=bearer(KEY_A))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["decision_id"], answer.json()["state"]) == (CANONICAL, "revoked")
    assert client.get(f"/v1/decisions/{variant}/status", headers=bearer(KEY_B)).status_code == 403


@pytest.mark.parametrize(
    "not_an_id", ["abc", f"fine:{AUTHORITY}:1号", "penalty:91411502MA40XXXX1X:信市监罚〔2026〕1号"]
)
def test_what_names_no_decision_is_a_422_for_revoke_and_status(
    gateway: tuple[TestClient, Producer, Index], not_an_id: str
) -> None:
    client, producer, _ = gateway
    revoke = client.post(f"/v1/decisions/{not_an_id}/revoke", headers=bearer(KEY_A))
    assert revoke.status_code == 422 and revoke.json()["error"]["code"] == "revoke.decision_id"
    status = client.get(f"/v1/decisions/{not_an_id}/status", headers=bearer(KEY_A))
    assert status.status_code == 422 and status.json()["error"]["code"] == "status.decision_id"
    assert "不是决定标识" in status.json()["error"]["message"]
    assert producer.sent == []


def test_an_upload_is_saved_under_its_own_name_and_never_outside_its_folder() -> None:
    from sgs.connectors.gateway.app import _local_name

    assert _local_name("2025年12月行政处罚.xlsx", ".xlsx") == "2025年12月行政处罚.xlsx"
    assert _local_name("C:\\Users\\科员\\许可.csv", ".csv") == "许可.csv"
    assert _local_name("../../etc/x.csv", ".csv") == "x.csv"
    for unusable in ("..", ".", "", "a\x00.csv", "坏\ud800.csv", "长" * 100 + ".csv"):
        assert _local_name(unusable, ".csv") == "upload.csv"
