"""The publication rules file (periods per department, the negative list) in every process, on the real stack."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch

from sgs.config import Settings
from sgs.connectors import feedback, search_client
from sgs.connectors.publisher import Publisher
from sgs.connectors.search_indices import IndexNames
from sgs.core.dates import CHINA_TZ
from sgs.core.docnum import decision_id
from sgs.core.publication import add_months
from sgs.streams.topics import Topics
from tests.integration.conftest import RULES_DEPARTMENT, WorkerProcess
from tests.integration.kafka_io import RawSubmitter, envelope, read_all
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
