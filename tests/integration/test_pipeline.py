"""The whole pipeline against the real stack: a realistic feed plus hostile input, through a real worker.

Checks the invariants of ARCHITECTURE.md: the public index holds exactly the publishable decisions, masked,
one per decision id at its highest version; dead letters explain every rejection; every submission is
accounted for; deadline states follow the official calendar.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors.search_indices import IndexNames, public_query_filter
from sgs.connectors.simulate import Step, demo_feed
from sgs.core.dates import CHINA_TZ
from sgs.core.docnum import decision_id
from sgs.streams.topics import Topics
from tests.integration.conftest import WorkerProcess
from tests.integration.kafka_io import RawSubmitter, envelope, read_all
from tests.integration.waiting import wait_for

RESIDENT_ID = re.compile(r"(?<![0-9])[1-9][0-9]{5}(19|20)[0-9]{9}[0-9X](?![0-9])")


@dataclass
class Fed:
    expected_public: dict[str, Step] = field(default_factory=dict)  # decision id -> the step in force
    submitted: set[str] = field(default_factory=set)  # every decision id this feed touched
    revoked: set[str] = field(default_factory=set)
    rejected_events: dict[str, str] = field(default_factory=dict)  # event id -> expected problem code
    accepted_events: dict[str, str] = field(default_factory=dict)  # event id -> decision id
    out_of_order: str = ""
    late: set[str] = field(default_factory=set)
    timely: set[str] = field(default_factory=set)


def identity(step: Step) -> str:
    if step.decision_id:
        return step.decision_id
    assert step.record is not None
    return decision_id(step.kind, step.record["authority_code"], step.record["document_number"])  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fed(settings: Settings, worker: WorkerProcess) -> Fed:
    today = datetime.now(CHINA_TZ).date()
    submitter, result = RawSubmitter(settings), Fed()
    steps = demo_feed(40, today, seed=77)
    for step in steps:
        decision = identity(step)
        result.submitted.add(decision)
        value = envelope(step.department_code, step.kind, decision, step.record, step.version, step.operation)
        event_id = submitter.send(value)
        if step.note in ("invalid", "other-department"):
            result.rejected_events[event_id] = "department.not_own" if step.note == "other-department" else ""
            continue
        result.accepted_events[event_id] = decision
        if step.operation == "revoke":
            result.revoked.add(decision)
            result.expected_public.pop(decision, None)
        else:
            result.expected_public[decision] = step
            (result.late if step.note == "late" else result.timely).add(decision)

    # Versions out of order, and the same event ten times.
    base = next(s for s in steps if s.note == "timely" and s.kind == "penalty" and s.record)
    assert base.record is not None
    record = dict(base.record, document_number=base.record["document_number"].replace("号", "-乱序号"))
    result.out_of_order = decision = identity(Step(base.department_code, "penalty", "upsert", record, 1, ""))
    for version in (3, 1, 2):
        value = envelope(base.department_code, "penalty", decision, dict(record, fine_amount=str(version)), version)
        result.accepted_events[submitter.send(value, times=10 if version == 1 else 1)] = decision
    result.expected_public[decision] = Step(base.department_code, "penalty", "upsert", record, 3, "timely")
    result.timely.add(decision)

    # Hostile input: undecodable bytes, a revoke of a decision nobody published, an oversized text field.
    submitter.send_bytes(decision, b"\x00\x00\x00\x00\x01not avro at all")
    ghost = f"penalty:{base.department_code}:信环罚〔2020〕999999号"
    result.accepted_events[submitter.send(envelope(base.department_code, "penalty", ghost, None, 9, "revoke"))] = ghost
    result.revoked.add(ghost)
    huge = dict(record, document_number="信环罚〔2025〕巨大号", facts="违" * 150_000)
    huge_id = identity(Step(base.department_code, "penalty", "upsert", huge, 1, ""))
    result.rejected_events[submitter.send(envelope(base.department_code, "penalty", huge_id, huge, 1))] = (
        "record.too_large"
    )
    result.submitted |= {decision, ghost, huge_id}
    submitter.flush()
    return result


def public_documents(settings: Settings, fed: Fed) -> dict[str, dict[str, Any]]:
    """What the public sees of the decisions this feed touched (other tests share the indices)."""
    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)
    aliases = [names.public_alias("licence"), names.public_alias("penalty")]
    if not es.indices.exists_alias(name=aliases):
        return {}
    es.indices.refresh(index=aliases)
    hits = es.search(
        index=aliases,
        query={"bool": {"filter": [public_query_filter(), {"ids": {"values": sorted(fed.submitted)}}]}},
        size=10_000,
    )["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_public_index_holds_exactly_the_publishable_decisions(
    settings: Settings, fed: Fed, worker: WorkerProcess
) -> None:
    def settled() -> dict[str, dict[str, Any]] | None:
        assert worker.alive(), f"the worker exited; see {worker.log_path}"
        documents = public_documents(settings, fed)
        return documents if set(documents) == set(fed.expected_public) else None

    documents = wait_for(settled, timeout=180, what="the public index to hold exactly the publishable decisions")
    assert documents[fed.out_of_order]["fine_amount"] == "3"  # the highest version, whatever the order
    variants = [d for d, s in fed.expected_public.items() if s.note == "bracket-variant"]
    assert all(documents[d]["remarks"] == "更正：补充备注" for d in variants)
    assert not fed.revoked & set(documents)


def test_no_personal_id_number_is_public(settings: Settings, fed: Fed) -> None:
    for document in public_documents(settings, fed).values():
        text = json.dumps(document, ensure_ascii=False)
        assert not RESIDENT_ID.search(text), text
        assert "legal_representative_id_number" not in document


def test_revoked_decisions_stay_in_the_archive(settings: Settings, fed: Fed) -> None:
    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)

    def archived() -> bool:
        found = es.mget(index=names.archive, ids=sorted(fed.revoked))["docs"]
        return all(doc.get("found") and doc["_source"]["publication_status"] == "revoked" for doc in found)

    wait_for(archived, timeout=60, what="revoked decisions in the archive")


def test_dead_letters_explain_every_rejection(settings: Settings, fed: Fed) -> None:
    topic = Topics(settings.topic_prefix).rejected

    def letters() -> list[dict[str, Any]] | None:
        found = [value for _, value in read_all(settings, topic, "dead_letter")]
        return found if set(fed.rejected_events) <= {d["event_id"] for d in found} else None

    dead = wait_for(letters, timeout=120, what="a dead letter for every rejected submission")
    by_event = {d["event_id"]: d for d in dead}
    for event_id, code in fed.rejected_events.items():
        problems = by_event[event_id]["problems"]
        assert problems and all(p["message"] for p in problems)
        if code:
            assert code in {p["code"] for p in problems}
    assert any(p["code"] == "payload.undecodable" for d in dead for p in d["problems"])
    assert not set(fed.accepted_events) & {d["event_id"] for d in dead}


def test_every_submission_is_accounted_for(settings: Settings, fed: Fed) -> None:
    current = {key for key, _ in read_all(settings, Topics(settings.topic_prefix).current, "current")}
    assert set(fed.accepted_events.values()) <= current


def test_deadline_states_follow_the_calendar(settings: Settings, fed: Fed) -> None:
    topic = Topics(settings.topic_prefix).deadline_events

    def states() -> dict[str, list[str]] | None:
        found: dict[str, list[str]] = {}
        for key, event in read_all(settings, topic, "deadline_event"):
            found.setdefault(str(key), []).append(event["to_state"])
        closed = {d for d, s in found.items() if s[-1].startswith("published")}
        return found if set(fed.expected_public) <= closed else None

    seen = wait_for(states, timeout=120, what="a published deadline state for every public decision")
    for decision in fed.timely:
        assert seen[decision][-1] == "published_on_time", (decision, seen[decision])
    for decision in fed.late:
        assert seen[decision] == ["pending", "overdue", "published_late"], (decision, seen[decision])
