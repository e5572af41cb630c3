"""The publication rules file (periods per department, the negative list) in every process, on the real stack."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from elasticsearch import AsyncElasticsearch

from sgs.cli.main import cli
from sgs.config import Settings
from sgs.connectors import feedback, search_client
from sgs.connectors.publisher import Publisher
from sgs.connectors.search_indices import IndexNames
from sgs.core.dates import CHINA_TZ
from sgs.core.docnum import decision_id
from sgs.core.publication import add_months
from sgs.deploy.local.stack import LocalStack
from sgs.streams.topics import Topics
from tests.integration.conftest import PUBLICATION_RULES, RULES_DEPARTMENT, WorkerProcess
from tests.integration.kafka_io import RawSubmitter, envelope, read_all
from tests.integration.test_faults import isolated, ready
from tests.integration.waiting import wait_for, wait_public
from tests.unit.factories import penalty


def record(number: int, **changes: object) -> dict[str, object]:
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    return penalty(
        document_number=f"信卫罚〔2026〕{number}号",
        decision_date=decided.isoformat(),
        valid_to=add_months(decided, 6).isoformat(),
        authority_code=RULES_DEPARTMENT,
        authority_name="信阳市卫生健康委员会",
        source_department_code=RULES_DEPARTMENT,
        source_department="信阳市卫生健康委员会",
        **changes,
    )


def the_id(number: int) -> str:
    return decision_id("penalty", RULES_DEPARTMENT, f"信卫罚〔2026〕{number}号")


def test_rules_decide_periods_what_is_public_and_what_is_refused(settings: Settings, worker: WorkerProcess) -> None:
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    warning = record(1, penalty_categories="警告", penalty_content="警告", fine_amount=...)
    secret = record(2, facts="经查，当事人违规处理涉及国家秘密的医疗档案。")
    with Publisher(RULES_DEPARTMENT, settings=settings) as publisher:
        receipts = [publisher.publish("penalty", warning), publisher.publish("penalty", secret)]
        # The department's own 1-year floor for 食品安全 penalties, refused on the clerk's side.
        early = record(3, illegal_act_type="违反食品安全法", publication_end=add_months(decided, 3).isoformat())
        refused = publisher.publish("penalty", early)
    assert [r.status for r in receipts] == ["accepted"] * 2, [(r.problems, r.error) for r in receipts]
    assert refused.status == "invalid" and [p.code for p in refused.problems] == ["publication_end.too_early"]
    # The worker refuses it too when a producer skips the SDK's checks: a dead letter, nothing public.
    raw = RawSubmitter(settings)
    raw.send(envelope(RULES_DEPARTMENT, "penalty", the_id(3), {k: str(v) for k, v in early.items()}, 1))
    raw.flush()

    ids = {the_id(1), the_id(2), the_id(3)}
    wait_public(
        settings, ids, {the_id(1)}, worker, what="the 警告 public; the secret one withheld; the early one refused"
    )
    names = IndexNames(settings.index_prefix)
    with search_client.client(settings.elasticsearch) as es:
        public = es.get(index=names.public_alias("penalty"), id=the_id(1))["_source"]
        # 12 months: the department's period for 警告 (the city's is 3).
        assert public["publication_end"] == add_months(decided, 12).isoformat()
        assert "legal_representative" not in public and "张伟" not in str(public)
        archive = es.get(index=names.archive, id=the_id(1))["_source"]
        assert archive["legal_representative"] == "张伟"
        withheld = es.get(index=names.archive, id=the_id(2))["_source"]
        assert withheld["publication_status"] == "withheld" and withheld["withheld_reason"] == "涉及国家秘密"
        hidden = es.get(index=names.public_alias("penalty"), id=the_id(2))["_source"]
        assert hidden["withdrawn"] is True and hidden["withdrawn_reason"] == "withheld"

        def withdrawn_from_deadlines() -> bool:
            found = es.options(ignore_status=404).get(index=names.deadlines, id=the_id(2))
            return bool(found.get("found")) and found["_source"]["state"] == "withdrawn"

        wait_for(withdrawn_from_deadlines, timeout=60, what="the withheld decision no longer chased")

    rejected = Topics(settings.topic_prefix).rejected
    letters = wait_for(
        lambda: read_all(settings, rejected, "dead_letter", keys=[the_id(3)]), timeout=60, what="the dead letter"
    )
    assert [p["code"] for p in letters[0][1]["problems"]] == ["publication_end.too_early"]

    # The department's status answer says why.
    status = asyncio.run(_status(settings, the_id(2)))
    assert status is not None and status["state"] == "withheld" and status["withheld_reason"] == "涉及国家秘密"


async def _status(settings: Settings, decision: str) -> dict[str, Any] | None:
    async with AsyncElasticsearch(settings.elasticsearch) as es:
        return await feedback.decision_status(es, IndexNames(settings.index_prefix), decision, RULES_DEPARTMENT)


def test_a_changed_negative_list_reaches_decisions_already_published(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    """`sgs rules apply`, after the worker was restarted with a new rules file: what the list now covers leaves
    the public indices (nothing of it stays there), fields go, and all of it comes back when the entries go."""
    mine = dataclasses.replace(isolated(settings, tmp_path), publication_rules_path=None)  # the national defaults
    worker = WorkerProcess(mine, "worker-rules")
    try:
        ready(mine, worker)
        secret = record(21, facts="经查，当事人违规处理涉及国家秘密的医疗档案。")
        with Publisher(RULES_DEPARTMENT, settings=mine) as publisher:
            receipts = [publisher.publish("penalty", secret), publisher.publish("penalty", record(22))]
        assert [r.status for r in receipts] == ["accepted"] * 2, [(r.problems, r.error) for r in receipts]
        ids = {the_id(21), the_id(22)}
        wait_public(mine, ids, ids, worker, what="both public under the national defaults")

        rules = tmp_path / "rules.yaml"
        rules.write_text(PUBLICATION_RULES, encoding="utf-8")
        worker.settings = dataclasses.replace(mine, publication_rules_path=rules)
        worker.restart()
        ready(worker.settings, worker)
        applied = CliRunner().invoke(cli, ["rules", "apply"], env=worker.settings.to_env())
        assert applied.exit_code == 0, applied.output
        assert "已读取 2 条决定的当前状态；2 条已交工作进程" in applied.output
        wait_public(mine, ids, {the_id(22)}, worker, what="the decision the list now covers withheld")
        names = IndexNames(mine.index_prefix)
        with search_client.client(mine.elasticsearch) as es:

            def public(number: int) -> dict[str, Any]:
                return dict(es.get(index=names.public_alias("penalty"), id=the_id(number))["_source"])

            def deadline_state(number: int) -> str | None:
                found = es.options(ignore_status=404).get(index=names.deadlines, id=the_id(number))
                return str(found["_source"]["state"]) if found.get("found") else None

            wait_for(lambda: "legal_representative" not in public(22), timeout=60, what="法定代表人 withheld")
            stub = public(21)
            assert stub["withdrawn_reason"] == "withheld" and "facts" not in stub and "subject_name" not in stub
            archive = es.get(index=names.archive, id=the_id(21))["_source"]
            assert archive["publication_status"] == "withheld" and archive["facts"] == secret["facts"]
            # One withheld as it arrives: not chased (withdrawn), until it is published.
            arriving = record(23, facts="经查，该案涉及国家秘密。")
            with Publisher(RULES_DEPARTMENT, settings=worker.settings) as publisher:
                receipt = publisher.publish("penalty", arriving)
            assert receipt.status == "accepted", (receipt.problems, receipt.error)
            wait_for(lambda: deadline_state(23) == "withdrawn", timeout=60, what="withheld on arrival: withdrawn")

            # The entries removed: public again, every field back.
            worker.settings = mine
            worker.restart()
            ready(mine, worker)
            assert CliRunner().invoke(cli, ["rules", "apply"], env=mine.to_env()).exit_code == 0
            wait_public(mine, ids | {the_id(23)}, ids | {the_id(23)}, worker, what="public again without the entries")
            wait_for(lambda: public(22).get("legal_representative") == "张伟", timeout=60, what="法定代表人 back")
            assert public(21)["facts"] == secret["facts"]

            # Published on time when it first was; the one withheld on arrival is published on time now (the
            # platform held it back, not its department), no longer "withdrawn".
            assert deadline_state(21) == "published_on_time"
            wait_for(lambda: deadline_state(23) == "published_on_time", timeout=60, what="the deadline state")
    finally:
        worker.close()
