"""A realistic feed with hostile input, sent as a careless producer would, and what must come of it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors.search_indices import IndexNames, public_query_filter
from sgs.connectors.simulate import Step, demo_feed
from sgs.core.dates import CHINA_TZ
from sgs.core.docnum import decision_id
from sgs.streams.topics import Topics
from tests.integration.kafka_io import RawSubmitter, envelope

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


def feed(settings: Settings, decisions: int = 40, seed: int = 77) -> Fed:
    """Send a realistic feed plus hostile input without the SDK's checks; return what must come of it."""
    today = datetime.now(CHINA_TZ).date()
    submitter, result = RawSubmitter(settings), Fed()
    steps = demo_feed(decisions, today, seed=seed, first_serial=seed * 10_000)
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
        event_id = submitter.send(value, times=10 if version == 1 else 1)
        if version == 3:
            result.accepted_events[event_id] = decision
        else:  # older, with other content, after the newer: a dead letter saying it did not take effect
            result.rejected_events[event_id] = "version.stale"
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


def assert_converged(settings: Settings, fed: Fed, alive: Callable[[], bool], timeout: float = 240) -> None:
    """After whatever happened: exactly the publishable decisions are public at their highest versions, every
    rejection has its dead letter, every accepted submission reached the current state, and each decision
    has one archive document."""
    from tests.integration.kafka_io import read_all
    from tests.integration.waiting import wait_for

    def settled() -> dict[str, dict[str, Any]] | None:
        assert alive(), "the worker exited"
        documents = public_documents(settings, fed)
        return documents if set(documents) == set(fed.expected_public) else None

    documents = wait_for(settled, timeout=timeout, what="the public index to converge on the publishable decisions")
    assert documents[fed.out_of_order]["fine_amount"] == "3"
    topics = Topics(settings.topic_prefix)
    dead = {d["event_id"] for _, d in read_all(settings, topics.rejected, "dead_letter")}
    assert set(fed.rejected_events) <= dead
    assert not set(fed.accepted_events) & dead
    current = {key for key, _ in read_all(settings, topics.current, "current")}
    assert set(fed.accepted_events.values()) <= current
    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)
    es.indices.refresh(index=names.archive)
    archived = es.count(index=names.archive, query={"ids": {"values": sorted(fed.submitted)}})["count"]
    assert archived == len(current & fed.submitted)
