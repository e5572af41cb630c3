"""Moving the worker's clock across a deadline: an item never validly published becomes at risk, then overdue,
each once, from the timer's alarm index; publishing it afterwards closes it as late."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time as time_module
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from elasticsearch import Elasticsearch

from sgs.cli.main import cli
from sgs.config import Settings
from sgs.connectors.search_indices import IndexNames
from sgs.connectors.simulate import demo_feed
from sgs.core.calendar import default_calendar
from sgs.core.dates import CHINA_TZ
from sgs.core.deadline import deadline, working_days_late
from sgs.core.docnum import decision_id
from sgs.core.publication import supplied_end_bounds
from sgs.deploy.local.stack import LocalStack
from sgs.streams.clock import FileClock
from sgs.streams.topics import Topics
from tests.integration.conftest import WorkerProcess
from tests.integration.kafka_io import RawSubmitter, envelope, read_all
from tests.integration.test_faults import isolated, ready
from tests.integration.waiting import wait_for


@contextlib.contextmanager
def clocked_worker(settings: Settings, tmp_path: Path, name: str, start: date) -> Iterator[tuple[Settings, FileClock]]:
    """A worker of its own whose clock the test sets, starting at 10:00 on `start` (China Standard Time)."""
    clock = FileClock(tmp_path / "now")
    mine = dataclasses.replace(isolated(settings, tmp_path), clock=f"file:{clock.path}", deadline_check_interval=0.5)
    clock.set(datetime.combine(start, time(10), tzinfo=CHINA_TZ))
    worker = WorkerProcess(mine, name)
    try:
        ready(mine, worker)
        yield mine, clock
    finally:
        worker.close()


def test_overdue_is_detected_when_the_clock_passes_the_end_of_the_deadline_day(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    with clocked_worker(settings, tmp_path, "worker-clock", decided) as (mine, clock):
        step = next(s for s in demo_feed(5, decided, seed=21, first_serial=500_000) if s.record and s.note == "timely")
        assert step.record is not None
        decision = decision_id(step.kind, step.record["authority_code"], step.record["document_number"])  # type: ignore[arg-type]
        submitter = RawSubmitter(mine)
        # Invalid (no subject name): the decision exists, its clock runs, nothing is published.
        submitter.send(envelope(step.department_code, step.kind, decision, dict(step.record, subject_name=""), 1))
        submitter.flush()
        due = deadline(date.fromisoformat(step.record["decision_date"]), default_calendar()).date
        topic = Topics(mine.topic_prefix).deadline_events

        def states() -> list[str]:
            return [e["to_state"] for key, e in read_all(mine, topic, "deadline_event") if key == decision]

        wait_for(lambda: states() == ["pending"], timeout=60, what="the rejected decision tracked as pending")
        clock.set(datetime.combine(due, time(9), tzinfo=CHINA_TZ))
        wait_for(lambda: states() == ["pending", "at_risk"], timeout=60, what="at risk on the deadline day")
        clock.set(datetime.combine(due + timedelta(days=1), time(0, 0, 1), tzinfo=CHINA_TZ))
        wait_for(lambda: states() == ["pending", "at_risk", "overdue"], timeout=60, what="overdue after the deadline")

        # `sgs status` tells the department how late on the worker's clock (two weeks on: 10 working days or so).
        clock.set(datetime.combine(due + timedelta(days=14), time(10), tzinfo=CHINA_TZ))

        def overdue_item() -> dict[str, Any] | None:
            command = ["status", "--department", step.department_code, "--json"]
            report = CliRunner().invoke(cli, command, env=mine.to_env())
            assert report.exit_code in (0, 1), report.output  # 1: something is overdue
            found = [i for i in json.loads(report.stdout)["overdue"] if i["decision_id"] == decision]
            return found[0] if found else None

        item = wait_for(overdue_item, timeout=60, what="the overdue item in sgs status")
        late = working_days_late(due, due + timedelta(days=14), default_calendar())
        assert item["working_days_late"] == late >= 5

        # Corrected at last: published late, counted in working days.
        submitter.send(envelope(step.department_code, step.kind, decision, step.record, 2))
        submitter.flush()
        wait_for(lambda: states()[-1:] == ["published_late"], timeout=60, what="published late")
        assert states() == ["pending", "at_risk", "overdue", "published_late"]


def test_a_decision_leaves_public_view_when_its_publication_period_ends(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    today = datetime.now(CHINA_TZ).date()
    with clocked_worker(settings, tmp_path, "worker-expiry", today) as (mine, clock):
        step = next(s for s in demo_feed(8, today, seed=31, first_serial=600_000) if s.record and s.kind == "penalty")
        assert step.record is not None
        # At least the decision's own minimum period (3 months, a year for 消防…) after it, and still ahead.
        earliest, _ = supplied_end_bounds(
            date.fromisoformat(step.record["decision_date"]),
            step.record["penalty_categories"].split("、"),
            illegal_act_type=step.record.get("illegal_act_type") or "",
        )
        ends = max(today + timedelta(days=30), earliest)
        record = dict(step.record, publication_end=ends.isoformat())
        decision = decision_id("penalty", record["authority_code"], record["document_number"])
        submitter = RawSubmitter(mine)
        submitter.send(envelope(step.department_code, "penalty", decision, record, 1))
        submitter.flush()
        es, names = Elasticsearch(mine.elasticsearch), IndexNames(mine.index_prefix)

        def public_document() -> dict[str, Any] | None:
            found = es.options(ignore_status=404).get(index=names.public_alias("penalty"), id=decision)
            return dict(found["_source"]) if found.get("found") else None

        assert not wait_for(public_document, timeout=60, what="the penalty published")["withdrawn"]
        clock.set(datetime.combine(ends, time(23, 59), tzinfo=CHINA_TZ))
        time_module.sleep(3)
        assert not (public_document() or {}).get("withdrawn"), "still inside its last day"
        clock.set(datetime.combine(ends + timedelta(days=1), time(0, 0, 1), tzinfo=CHINA_TZ))

        def withdrawn() -> dict[str, Any] | None:
            document = public_document()
            return document if document and document["withdrawn"] else None

        assert wait_for(withdrawn, timeout=60, what="withdrawn after 公示截止期")["withdrawn_reason"] == "expired"
        archived = es.get(index=names.archive, id=decision)["_source"]
        assert archived["publication_status"] == "expired" and archived["subject_name"] == record["subject_name"]


def test_the_deadlines_index_follows_every_change_not_only_transitions(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    """What supervisors and departments read: a decision withdrawn before it was published is no longer open,
    a licence reported as no longer in force (当前状态 2) is not chased, a corrected decision date moves the
    deadline shown."""
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=2)
    with clocked_worker(settings, tmp_path, "worker-deadline-index", decided) as (mine, clock):
        feed = [s for s in demo_feed(40, decided, seed=41, first_serial=700_000) if s.record and s.note == "timely"]
        revoked = next(s for s in feed if s.kind == "penalty")
        in_force = next(s for s in feed if s.kind == "licence")
        corrected = next(s for s in feed if s.kind == "penalty" and s is not revoked)
        assert revoked.record and in_force.record and corrected.record
        ids = {
            name: decision_id(step.kind, step.record["authority_code"], step.record["document_number"])  # type: ignore[arg-type, index]
            for name, step in (("revoked", revoked), ("in_force", in_force), ("corrected", corrected))
        }
        submitter = RawSubmitter(mine)
        # Invalid (no subject name), so nothing is published and each stays open until what follows.
        submitter.send(
            envelope(revoked.department_code, "penalty", ids["revoked"], dict(revoked.record, subject_name=""), 1)
        )
        submitter.send(
            envelope(corrected.department_code, "penalty", ids["corrected"], dict(corrected.record, subject_name=""), 1)
        )
        submitter.send(
            envelope(in_force.department_code, "licence", ids["in_force"], dict(in_force.record, status="2"), 1)
        )
        submitter.flush()
        es, index = Elasticsearch(mine.elasticsearch), IndexNames(mine.index_prefix).deadlines

        def document(name: str) -> dict[str, Any]:
            found = es.options(ignore_status=404).get(index=index, id=ids[name])
            return dict(found["_source"]) if found.get("found") else {}

        wait_for(lambda: document("revoked").get("state") == "pending", timeout=60, what="the invalid penalty pending")
        wait_for(lambda: document("in_force").get("state") == "withdrawn", timeout=60, what="the licence not chased")
        submitter.send(envelope(revoked.department_code, "penalty", ids["revoked"], None, 2, operation="revoke"))
        # An earlier date (the worker's clock is at `decided`: a later one could be in its future).
        later = date.fromisoformat(corrected.record["decision_date"]) - timedelta(days=3)
        moved = dict(corrected.record, subject_name="", decision_date=later.isoformat())
        submitter.send(envelope(corrected.department_code, "penalty", ids["corrected"], moved, 2))
        submitter.flush()
        wait_for(lambda: document("revoked").get("state") == "withdrawn", timeout=60, what="the revoked one withdrawn")
        due = deadline(later, default_calendar()).date.isoformat()
        wait_for(lambda: document("corrected").get("deadline") == due, timeout=60, what="the corrected deadline")
        clock.set(datetime.combine(date.fromisoformat(due) + timedelta(days=1), time(0, 0, 1), tzinfo=CHINA_TZ))
        wait_for(lambda: document("corrected").get("state") == "overdue", timeout=60, what="the corrected one overdue")
        assert document("revoked")["state"] == "withdrawn" and document("in_force")["state"] == "withdrawn"
