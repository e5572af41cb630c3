"""The whole pipeline against the real stack: a realistic feed plus hostile input, through a real worker.

Checks the invariants of ARCHITECTURE.md: the public index holds exactly the publishable decisions, masked,
one per decision id at its highest version; dead letters explain every rejection; every submission is
accounted for; deadline states follow the official calendar.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch, NotFoundError

from sgs.config import Settings
from sgs.connectors.publisher import Publisher
from sgs.connectors.search_indices import IndexNames
from sgs.connectors.simulate import records
from sgs.core.dates import CHINA_TZ
from sgs.streams.topics import Topics
from tests.integration.conftest import WorkerProcess
from tests.integration.feeding import RESIDENT_ID, Fed, feed, public_documents
from tests.integration.kafka_io import read_all
from tests.integration.waiting import wait_for


@pytest.fixture(scope="module")
def fed(settings: Settings, worker: WorkerProcess) -> Fed:
    return feed(settings)


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


def test_a_burst_spread_over_many_batches_publishes_each_decision_once(
    settings: Settings, worker: WorkerProcess
) -> None:
    # Thousands at once fill the agent's batches while it works on the previous one: every decision must come
    # out public and tracked, none swapped for another (the batch is filled from another task).
    decided_from = datetime.now(CHINA_TZ).date() - timedelta(days=5)
    burst = records(3_000, seed=4242, chinese=False, first_day=decided_from, days=5)
    publishers: dict[str, Publisher] = {}
    receipts = []
    for kind, record in burst:
        code = record["source_department_code"]
        if code not in publishers:
            publishers[code] = Publisher(code, settings=settings, keep_results=False)
        publisher = publishers[code]
        receipts.append(publisher.publish(kind, record))
    for publisher in publishers.values():
        publisher.flush()
    assert all(r.status == "accepted" for r in receipts), {(r.status, r.error) for r in receipts}
    ids = {str(r.decision_id) for r in receipts}
    assert len(ids) == len(burst)
    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)

    def all_there() -> int | None:
        assert worker.alive(), f"the worker exited; see {worker.log_path}"
        try:
            found = es.count(index=names.archive, query={"ids": {"values": sorted(ids)}})["count"]
            tracked = es.count(index=names.deadlines, query={"ids": {"values": sorted(ids)}})["count"]
        except NotFoundError:  # the worker has not created its indices yet
            return None
        return found if found == tracked == len(ids) else None

    wait_for(all_there, timeout=240, what=f"all {len(ids)} burst decisions archived and tracked")
    current = [key for key, _ in read_all(settings, Topics(settings.topic_prefix).current, "current") if key in ids]
    assert sorted(current) == sorted(ids)  # one current state each: none re-emitted in another's place
