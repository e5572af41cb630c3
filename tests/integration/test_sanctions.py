"""Sanction alerts (联合惩戒) through the real pipeline: penalties and licences published in every order."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors.publisher import Publisher
from sgs.connectors.search_indices import IndexNames
from sgs.connectors.simulate import authorities, licence, penalty, uscc
from sgs.connectors.watchlists import watch, watched_by
from sgs.core.dates import CHINA_TZ
from sgs.streams.topics import Topics
from tests.integration.conftest import WorkerProcess
from tests.integration.kafka_io import read_all
from tests.integration.waiting import wait_for


def _publish(settings: Settings, office: tuple[str, str], kind: str, record: dict[str, str]) -> None:
    with Publisher(office[1], settings=settings) as publisher:
        publisher.publish(kind, record)
    assert [r.status for r in publisher.results] == ["accepted"], [(r.status, r.problems) for r in publisher.results]


def _alerts(settings: Settings, subject: str) -> list[dict[str, Any]]:
    return [
        a for _, a in read_all(settings, Topics(settings.topic_prefix).alerts, "alert") if a["subject_code"] == subject
    ]


def test_a_penalty_before_or_after_a_licence_alerts_the_licensing_department_once(
    settings: Settings, worker: WorkerProcess
) -> None:
    rng = random.Random(515)
    offices = authorities(rng)
    licensing, penalising, watching = offices[0], offices[4], offices[9]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    subjects = {name: uscc("91411502", rng) for name in ("licence_first", "penalty_first", "watched")}

    def company(code: str) -> dict[str, str]:
        return {
            "subject_name": f"信阳某某{code[-4:]}有限公司",
            "subject_category": "法人及非法人组织",
            "subject_code": code,
            "legal_representative": "张三",
            "legal_representative_id_type": "身份证",
            "legal_representative_id_number": "411502199508081269",
        }

    def licence_of(code: str, serial: int) -> dict[str, str]:
        return licence(rng, licensing, serial, decided) | company(code)

    def penalty_of(code: str, serial: int) -> dict[str, str]:
        record = penalty(rng, penalising, serial, decided) | company(code)
        return record | {
            "penalty_categories": "罚款、责令停产停业",
            "penalty_content": "罚款贰万元并责令停产停业",
            "fine_amount": "2",
        }

    watch(settings, watching[1], [subjects["watched"]])
    started = time.monotonic()
    _publish(settings, licensing, "licence", licence_of(subjects["licence_first"], 660_001))
    _publish(settings, penalising, "penalty", penalty_of(subjects["licence_first"], 660_002))
    late_penalty = penalty_of(subjects["penalty_first"], 660_003)
    _publish(settings, penalising, "penalty", late_penalty)
    _publish(settings, licensing, "licence", licence_of(subjects["penalty_first"], 660_004))
    _publish(settings, penalising, "penalty", late_penalty)  # the same penalty again: nothing new
    _publish(settings, penalising, "penalty", penalty_of(subjects["watched"], 660_005))

    expected = {
        subjects["licence_first"]: licensing[1],
        subjects["penalty_first"]: licensing[1],
        subjects["watched"]: watching[1],
    }

    def all_raised() -> bool:
        return all(_alerts(settings, subject) for subject in expected)

    wait_for(all_raised, timeout=120, what="a sanction alert for each subject")
    latency = time.monotonic() - started
    time.sleep(3)  # a duplicate alert would arrive by now
    for subject, department in expected.items():
        alerts = _alerts(settings, subject)
        assert len(alerts) == 1, alerts
        assert alerts[0]["notify_department_code"] == department and alerts[0]["severity"] == "high"
    assert _alerts(settings, subjects["watched"])[0]["reason"] == "watchlist"
    assert watched_by(settings, watching[1]) == [subjects["watched"]]

    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)

    def indexed() -> bool:
        es.indices.refresh(index=names.alerts)
        query = {"terms": {"subject_code": list(expected)}}
        return int(es.count(index=names.alerts, query=query)["count"]) == len(expected)

    wait_for(indexed, timeout=60, what="the alerts in the alerts index")
    assert latency < 60, f"alerts took {latency:.0f} s"


def test_a_licence_whose_subject_code_is_corrected_no_longer_draws_alerts_for_the_old_subject(
    settings: Settings, worker: WorkerProcess
) -> None:
    rng = random.Random(616)
    offices = authorities(rng)
    licensing, penalising = offices[1], offices[5]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    wrong, right = uscc("91411502", rng), uscc("91411502", rng)

    def company(code: str) -> dict[str, str]:
        return {
            "subject_name": f"信阳某某{code[-4:]}有限公司",
            "subject_category": "法人及非法人组织",
            "subject_code": code,
            "legal_representative": "李四",
            "legal_representative_id_type": "身份证",
            "legal_representative_id_number": "411502199508081269",
        }

    def penalty_of(code: str, serial: int) -> dict[str, str]:
        record = penalty(rng, penalising, serial, decided) | company(code)
        return record | {"penalty_categories": "罚款", "penalty_content": "罚款贰万元", "fine_amount": "2"}

    first = licence(rng, licensing, 661_001, decided) | company(wrong)
    _publish(settings, licensing, "licence", first)
    _publish(settings, licensing, "licence", first | company(right))  # the same licence, its subject corrected
    es, index = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix).public_alias("licence")

    def corrected() -> bool:
        query = {"term": {"subject_code": right}}
        return bool(es.search(index=index, query=query, ignore_unavailable=True)["hits"]["hits"])

    wait_for(corrected, timeout=120, what="the corrected licence public")
    _publish(settings, penalising, "penalty", penalty_of(wrong, 661_002))
    _publish(settings, penalising, "penalty", penalty_of(right, 661_003))
    wait_for(lambda: _alerts(settings, right), timeout=120, what="the alert for the licence's subject")
    time.sleep(3)  # the penalty against the old code was sent first: its alert would be here by now
    assert _alerts(settings, wrong) == []


def test_a_natural_person_licensed_by_one_department_and_penalised_by_another_draws_an_alert(
    settings: Settings, worker: WorkerProcess
) -> None:
    """No unified code: the join groups a natural person's decisions by a keyed hash of the ID number."""
    from sgs.connectors.simulate import resident_id
    from sgs.core.decision import person_key

    rng = random.Random(717)
    offices = authorities(rng)
    licensing, penalising = offices[2], offices[6]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    id_number = resident_id("411502", date(1985, 4, 12), rng)
    person = {
        "subject_name": "王某某",
        "subject_category": "自然人",
        "subject_code": "",
        "id_type": "身份证",
        "id_number": id_number,
        "legal_representative": "",
        "legal_representative_id_type": "",
        "legal_representative_id_number": "",
    }
    _publish(settings, licensing, "licence", licence(rng, licensing, 662_001, decided) | person)
    penalised = penalty(rng, penalising, 662_002, decided) | person
    _publish(settings, penalising, "penalty", penalised | {"penalty_categories": "罚款", "fine_amount": "0.5"})
    key = person_key(id_number, settings.person_key_secret.encode())
    alerts = wait_for(lambda: _alerts(settings, key), timeout=120, what="the alert about the natural person")
    assert len(alerts) == 1 and alerts[0]["notify_department_code"] == licensing[1]
    assert id_number not in str(alerts[0])


def test_thousands_of_penalties_against_one_company_do_not_stop_the_worker(
    settings: Settings, worker: WorkerProcess
) -> None:
    """A hostile tester's find: a department sending a few thousand penalties against one company that holds
    another department's licence made the join's state for it larger than Kafka takes; the worker crashed, and
    again at every restart, and nothing more was published."""
    rng = random.Random(717)
    offices = authorities(rng)
    licensing, penalising = offices[2], offices[6]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    target = uscc("91411502", rng)
    company = {
        "subject_name": "信阳某某被罚有限公司",
        "subject_category": "法人及非法人组织",
        "subject_code": target,
        "legal_representative": "王五",
        "legal_representative_id_type": "身份证",
        "legal_representative_id_number": "411502199508081269",
    }

    def of_the_company(record: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in record.items() if k not in ("id_type", "id_number")} | company

    _publish(settings, licensing, "licence", of_the_company(licence(rng, licensing, 770_000, decided)))
    penalties = 2_600  # about 1.1 MB of state for one company before the state was bounded
    with Publisher(penalising[1], settings=settings) as publisher:
        for serial in range(770_001, 770_001 + penalties):
            publisher.publish("penalty", of_the_company(penalty(rng, penalising, serial, decided)))
    assert {r.status for r in publisher.results} == {"accepted"}
    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)

    def all_alerted() -> bool:
        assert worker.alive(), f"the worker exited; see {worker.log_path}"
        if not es.indices.exists(index=names.alerts):
            return False  # the worker makes its indices when it starts
        es.indices.refresh(index=names.alerts)
        return int(es.count(index=names.alerts, query={"term": {"subject_code": target}})["count"]) == penalties

    wait_for(all_alerted, timeout=240, what="an alert for each penalty, the worker alive")
