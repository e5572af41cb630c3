"""The ingest gateway as departments use it: a real `sgs gateway` over HTTP, real Kafka, real Elasticsearch."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from sgs.config import Settings
from sgs.connectors.departments import DepartmentDirectory, new_department, utc_now, with_key_revoked, with_new_key
from sgs.connectors.simulate import Step, demo_feed
from sgs.core.dates import CHINA_TZ
from sgs.core.publication import add_months
from sgs.deploy.local.stack import LocalStack
from sgs.streams.topics import Topics, ensure_topics
from tests.integration.conftest import RULES_DEPARTMENT, ServiceProcess, WorkerProcess
from tests.integration.test_publication_rules import record as rules_record
from tests.integration.test_stack import isolated
from tests.integration.waiting import wait_for

LIMITS: dict[str, Any] = {
    "gateway_max_body_bytes": 400_000,
    "gateway_max_batch": 200,
    "gateway_rate": 100.0,
    "gateway_burst": 250.0,
}


class Gateway(ServiceProcess):
    """A real `sgs gateway` with small limits, so the tests can reach them."""

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(dataclasses.replace(settings, **LIMITS), "gateway", name, "/healthz")

    def post(self, path: str, key: str | None, body: object = None, **kwargs: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        return httpx.post(
            f"{self.url}{path}", content=content, headers=headers | {"content-type": "application/json"}, timeout=60
        )

    def get(self, path: str, key: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"authorization": f"Bearer {key}"}, timeout=30)


@dataclasses.dataclass
class Registered:
    code: str
    key: str
    steps: list[Step]


def register(settings: Settings, steps: list[Step], name: str) -> Registered:
    code = steps[0].department_code
    key, department = new_department(code, name, None, utc_now())
    ensure_topics(settings)
    DepartmentDirectory(settings).save(department)
    return Registered(code, key, [s for s in steps if s.department_code == code])


@pytest.fixture(scope="module")
def departments(settings: Settings, stack: LocalStack) -> tuple[Registered, Registered]:
    yesterday = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    steps = [s for s in demo_feed(300, yesterday, seed=11, first_serial=700_000) if s.note == "timely" and s.record]
    codes = sorted({s.department_code for s in steps})
    first = register(settings, [s for s in steps if s.department_code == codes[0]], "部门甲")
    second = register(settings, [s for s in steps if s.department_code == codes[1]], "部门乙")
    return first, second


@pytest.fixture(scope="module")
def gateway(settings: Settings, departments: tuple[Registered, Registered]) -> Iterator[Gateway]:
    process = Gateway(settings, "gateway")
    yield process
    process.close()


def item(step: Step) -> dict[str, object]:
    return {"kind": step.kind, "record": step.record}


def submitted_count(settings: Settings) -> int:
    """Messages ever written to the submitted topic; waits out leader elections of a broker just restarted."""
    topic = Topics(settings.topic_prefix).submitted
    consumer = Consumer({"bootstrap.servers": settings.kafka_servers, "group.id": "count"})
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                metadata = consumer.list_topics(topic, timeout=10).topics[topic]
                return sum(
                    consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
                    for partition in metadata.partitions
                )
            except KafkaException as error:
                if time.monotonic() > deadline or not (error.args[0].retriable() or _electing(error)):
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


def _electing(error: KafkaException) -> bool:
    return error.args[0].code() in (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)


def test_credentials_missing_wrong_revoked_and_rotated(
    gateway: Gateway, departments: tuple[Registered, Registered], settings: Settings
) -> None:
    first, _ = departments
    body = item(first.steps[0])
    assert gateway.post("/v1/decisions", None, body).status_code == 401
    wrong = gateway.post("/v1/decisions", first.key[:-4] + "AAAA", body)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "auth.invalid"
    assert gateway.post("/v1/decisions", "not-a-key", body).status_code == 401

    # Rotation: a second key works beside the first; revoking the first leaves the second working.
    directory = DepartmentDirectory(settings).load()
    department = directory.get(first.code)
    assert department is not None
    new_key, rotated = with_new_key(department, utc_now())
    directory.save(rotated)
    wait_for(lambda: gateway.post("/v1/decisions", new_key, body).status_code == 202, timeout=20, what="new key")
    old_id = first.key.split("_")[1]
    directory.save(with_key_revoked(rotated, old_id, utc_now()))
    wait_for(lambda: gateway.post("/v1/decisions", first.key, body).status_code == 401, timeout=20, what="revoked")
    assert gateway.post("/v1/decisions", new_key, body).status_code == 202
    first.key = new_key


def test_a_department_cannot_publish_or_see_as_another(
    gateway: Gateway, departments: tuple[Registered, Registered], settings: Settings
) -> None:
    first, second = departments
    before = submitted_count(settings)
    refused = gateway.post("/v1/decisions", first.key, {"decisions": [item(first.steps[1]), item(second.steps[0])]})
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "department.not_own" and [i["index"] for i in error["items"]] == [1]
    assert submitted_count(settings) == before  # the whole batch refused: nothing produced
    revoke = gateway.post(f"/v1/decisions/{_decision_id(second.steps[0])}/revoke", first.key)
    assert revoke.status_code == 403
    status = gateway.get(f"/v1/decisions/{_decision_id(second.steps[0])}/status", first.key)
    assert status.status_code == 403


def test_bad_bodies_are_refused_before_anything_is_produced(
    gateway: Gateway, departments: tuple[Registered, Registered], settings: Settings
) -> None:
    first, _ = departments
    before = submitted_count(settings)
    malformed = httpx.post(
        f"{gateway.url}/v1/decisions",
        content=b'{"kind": "penalty", "record": {',
        headers={"authorization": f"Bearer {first.key}", "content-type": "application/json"},
    )
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "request.malformed"
    nested = httpx.post(  # past Python's recursion limit: FastAPI's own 400, answered in the gateway's format
        f"{gateway.url}/v1/decisions",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={"authorization": f"Bearer {first.key}", "content-type": "application/json"},
    )
    assert nested.status_code == 422 and nested.json()["error"]["code"] == "request.malformed"
    assert gateway.get("/v1/nothing", first.key).json()["error"]["code"] == "request.not_found"
    invalid = dict(first.steps[2].record or {}, decision_date="2025-02-30")
    batch = {"decisions": [item(first.steps[2]), {"kind": first.steps[2].kind, "record": invalid}]}
    refused = gateway.post("/v1/decisions", first.key, batch)
    assert refused.status_code == 422 and refused.json()["error"]["items"][0]["index"] == 1
    assert "date.invalid" in json.dumps(refused.json(), ensure_ascii=False)
    huge = {"kind": "penalty", "record": {"facts": "违" * 300_000}}
    assert gateway.post("/v1/decisions", first.key, huge).status_code == 413
    too_many = {"decisions": [item(first.steps[0])] * 201}
    assert gateway.post("/v1/decisions", first.key, too_many).status_code == 413
    assert submitted_count(settings) == before


def test_a_batch_is_published_and_its_status_followed(
    gateway: Gateway, departments: tuple[Registered, Registered], worker: WorkerProcess
) -> None:
    _, second = departments
    steps = second.steps[:20]
    accepted = gateway.post("/v1/decisions", second.key, {"decisions": [item(s) for s in steps]})
    assert accepted.status_code == 202, accepted.text
    ids = [a["decision_id"] for a in accepted.json()["accepted"]]
    assert ids == [_decision_id(s) for s in steps] and all(a["offset"] is not None for a in accepted.json()["accepted"])

    def published() -> bool:
        response = gateway.get(f"/v1/decisions/{ids[0]}/status", second.key)
        return response.status_code == 200 and response.json()["state"] == "published"

    wait_for(published, timeout=90, what="the gateway's first decision published")
    revoked = gateway.post(f"/v1/decisions/{ids[1]}/revoke", second.key)
    assert revoked.status_code == 202, revoked.text
    invalid = dict(steps[2].record or {}, subject_name="")
    later = {"kind": steps[2].kind, "record": invalid}
    assert gateway.post("/v1/decisions", second.key, later).status_code == 422  # the gateway checks first

    def revoked_state() -> bool:
        response = gateway.get(f"/v1/decisions/{ids[1]}/status", second.key)
        return bool(response.json()["state"] == "revoked")

    wait_for(revoked_state, timeout=60, what="the revoked decision's status")
    report = gateway.get("/v1/feedback", second.key)
    assert report.status_code == 200 and set(report.json()) >= {
        "counts",
        "pending",
        "at_risk",
        "overdue",
        "rejected_not_corrected",
    }
    body = report.json()
    assert all(body["counts"][state] == len(body[state]) for state in ("pending", "at_risk", "overdue"))


def test_rate_limits_answer_429_with_retry_after(gateway: Gateway, departments: tuple[Registered, Registered]) -> None:
    first, _ = departments
    batch = {"decisions": [item(first.steps[3])] * 150}
    responses = [gateway.post("/v1/decisions", first.key, batch) for _ in range(2)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1


def test_an_upload_is_imported_row_by_row(
    gateway: Gateway, departments: tuple[Registered, Registered], tmp_path: Path
) -> None:
    first, _ = departments
    rows = [s.record for s in first.steps[5:9] if s.record and s.kind == first.steps[5].kind]
    rows.append(dict(rows[0], decision_date="昨天"))
    path = tmp_path / "upload.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with path.open("rb") as upload:
        response = httpx.post(
            f"{gateway.url}/v1/imports",
            files={"file": ("upload.jsonl", upload, "application/octet-stream")},
            params={"kind": first.steps[5].kind},
            headers={"authorization": f"Bearer {first.key}"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["read"], summary["invalid"], summary["published"]) == (len(rows), 1, len(rows) - 1)
    assert summary["rows_not_published"][0]["row"] == len(rows)


def test_a_broker_that_is_down_gets_a_clear_503_and_nothing_half_published(
    stack: LocalStack, settings: Settings, departments: tuple[Registered, Registered], tmp_path: Path
) -> None:
    # A throwaway broker of its own, so the session's Kafka (and its worker) never go down.
    own = isolated(stack, tmp_path)
    own.start_one("kafka", lambda message: None)
    broker = dataclasses.replace(settings, kafka_port=own.settings.kafka_port)
    first, _ = departments
    try:
        there = register(broker, first.steps, "部门甲")
        gateway = Gateway(broker, "gateway-broker-down")
        try:
            own.stop_one("kafka")
            wait_for(lambda: httpx.get(f"{gateway.url}/healthz").status_code == 503, timeout=30, what="broker down")
            started = time.monotonic()
            batch = {"decisions": [item(s) for s in first.steps[:5]]}
            refused = gateway.post("/v1/decisions", there.key, batch)
            assert refused.status_code == 503 and refused.json()["error"]["code"] == "broker.unavailable"
            assert time.monotonic() - started < 5
        finally:
            gateway.close()
        own.start_one("kafka", lambda message: None)
        assert submitted_count(broker) == 0
    finally:
        own.stop_one("kafka")


def _decision_id(step: Step) -> str:
    from tests.integration.feeding import identity

    return identity(step)


class Receiver:
    """A department's webhook receiver on loopback that is down (503) for its first `failures` requests."""

    def __init__(self, failures: int) -> None:
        import http.server
        import threading

        received: list[dict[str, Any]] = []
        attempts: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                attempts.append(self.headers["x-sgs-notification-id"])
                if len(attempts) <= failures:
                    self.send_response(503)
                else:
                    received.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sgs"
        self.received, self.attempts = received, attempts
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _notifier_ready(settings: Settings) -> bool:
    from confluent_kafka.admin import AdminClient

    group = f"{settings.topic_prefix}webhooks"
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})  # kept: its futures die with it
    try:
        return bool(admin.describe_consumer_groups([group])[group].result(timeout=10).members)
    except Exception:
        return False


def test_webhooks_tell_of_rejections_and_at_risk_items_through_a_receiver_that_was_down(
    gateway: Gateway, departments: tuple[Registered, Registered], settings: Settings, worker: WorkerProcess
) -> None:
    from sgs.core.calendar import load_calendar
    from sgs.core.deadline import deadline, is_at_risk
    from sgs.core.docnum import decision_id
    from sgs.core.fields import Kind
    from tests.integration.kafka_io import RawSubmitter, envelope

    _, second = departments
    receiver = Receiver(failures=2)
    try:
        directory = DepartmentDirectory(settings).load()
        department = directory.get(second.code)
        assert department is not None
        directory.save(dataclasses.replace(department, webhook_url=receiver.url))
        wait_for(lambda: _notifier_ready(settings), timeout=60, what="the gateway's webhook notifier subscribed")
        time.sleep(2)  # the gateway's directory follows the change

        calendar, today = load_calendar(None), datetime.now(CHINA_TZ).date()
        decided = next(
            today - timedelta(days=back)
            for back in range(1, 30)
            if is_at_risk(deadline(today - timedelta(days=back), calendar).date, today, calendar)
        )
        # Decisions of their own (文号 nobody used), so earlier tests' publications cannot close them first.
        base = second.steps[0]
        assert base.record is not None
        fresh = {}
        for purpose, serial in (("at_risk", 990_001), ("rejected", 990_002)):
            number = f"信测〔{today.year}〕{serial}号"
            record = dict(base.record, document_number=number, decision_date=decided.isoformat())
            kind: Kind = "licence" if base.kind == "licence" else "penalty"
            fresh[purpose] = (decision_id(kind, record["authority_code"], number) or "", record)
        submitter = RawSubmitter(settings)
        at_risk_id, timely = fresh["at_risk"]
        submitter.send(envelope(second.code, base.kind, at_risk_id, timely, 1))
        rejected_id, record = fresh["rejected"]
        submitter.send(envelope(second.code, base.kind, rejected_id, dict(record, subject_name=""), 1))
        submitter.flush()

        def told() -> bool:
            mine = {(n["type"], n["decision_id"]) for n in receiver.received}
            return {("at_risk", at_risk_id), ("rejected", rejected_id)} <= mine

        wait_for(told, timeout=90, what="the at-risk and rejected notifications at the webhook")
        assert len(receiver.attempts) > len(receiver.received)  # the first deliveries failed and were retried
        rejected = next(n for n in receiver.received if n["type"] == "rejected")
        assert {p["code"] for p in rejected["problems"]} >= {"field.required"}
    finally:
        receiver.close()


def test_sgs_status_under_a_prefix_with_no_indices_is_unusable_not_all_clear(
    settings: Settings, stack: LocalStack
) -> None:
    """ "0 overdue" with exit 0 under a mistyped SGS_INDEX_PREFIX would tell a department all is well."""
    from click.testing import CliRunner

    from sgs.cli.main import cli

    env = {**settings.to_env(), "SGS_INDEX_PREFIX": "sgs-no-such-prefix-"}
    result = CliRunner().invoke(cli, ["status", "--department", "11411500005000018R"], env=env)
    assert result.exit_code == 2 and "sgs-no-such-prefix-deadlines" in result.output


def test_the_gateway_checks_with_the_platforms_publication_rules(
    settings: Settings, gateway: Gateway, worker: WorkerProcess, tmp_path: Path
) -> None:
    """The gateway reads the worker's rules file: a department's own minimum period is refused at once (422), and
    a decision on the negative list is answered `withheld`, with the list's reason."""
    key, department = new_department(RULES_DEPARTMENT, "信阳市卫生健康委员会", None, utc_now())
    DepartmentDirectory(settings).save(department)
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    early = rules_record(11, illegal_act_type="违反食品安全法", publication_end=add_months(decided, 3).isoformat())

    def answered(body: dict[str, object]) -> httpx.Response | None:
        response = gateway.post("/v1/decisions", key, body)
        return None if response.status_code == 401 else response  # until the gateway has read the new key

    refused = wait_for(lambda: answered({"kind": "penalty", "record": early}), timeout=30, what="the new key known")
    assert refused.status_code == 422 and "publication_end.too_early" in refused.text, refused.text
    # An upload is checked by the same rules (a dry run here: nothing is sent).
    upload = tmp_path / "upload.jsonl"
    upload.write_text(json.dumps(early, ensure_ascii=False), encoding="utf-8")
    with upload.open("rb") as content:
        imported = httpx.post(
            f"{gateway.url}/v1/imports",
            files={"file": ("upload.jsonl", content, "application/octet-stream")},
            params={"kind": "penalty", "dry_run": "true"},
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
    assert imported.status_code == 200 and imported.json()["invalid"] == 1, imported.text
    assert "publication_end.too_early" in imported.text
    secret = rules_record(12, facts="经查，当事人违规处理涉及国家秘密的医疗档案。")
    accepted = gateway.post("/v1/decisions", key, {"kind": "penalty", "record": secret})
    assert accepted.status_code == 202, accepted.text
    decision = accepted.json()["accepted"][0]["decision_id"]

    def withheld() -> dict[str, Any] | None:
        response = gateway.get(f"/v1/decisions/{decision}/status", key)
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["state"] == "withheld" else None

    status = wait_for(withheld, timeout=90, what="the decision on the negative list answered withheld")
    assert status["withheld_reason"] == "涉及国家秘密"
