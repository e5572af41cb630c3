"""Moving the worker's clock across a deadline: an item never validly published becomes at risk, then overdue,
each once, from the timer's alarm index; publishing it afterwards closes it as late."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sgs.config import Settings
from sgs.connectors.simulate import demo_feed
from sgs.core.calendar import default_calendar
from sgs.core.dates import CHINA_TZ
from sgs.core.deadline import deadline
from sgs.core.docnum import decision_id
from sgs.deploy.local.stack import LocalStack
from sgs.streams.clock import FileClock
from sgs.streams.topics import Topics
from tests.integration.conftest import WorkerProcess
from tests.integration.kafka_io import RawSubmitter, envelope, read_all
from tests.integration.test_faults import isolated, ready
from tests.integration.waiting import wait_for


def test_overdue_is_detected_when_the_clock_passes_the_end_of_the_deadline_day(
    stack: LocalStack, settings: Settings, tmp_path: Path
) -> None:
    clock = FileClock(tmp_path / "now")
    mine = isolated(settings, tmp_path)
    mine = dataclasses.replace(mine, clock=f"file:{clock.path}", deadline_check_interval=0.5)
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    clock.set(datetime.combine(decided, time(10), tzinfo=CHINA_TZ))
    worker = WorkerProcess(mine, "worker-clock")
    try:
        ready(mine, worker)
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

        # Corrected at last: published late, counted in working days.
        submitter.send(envelope(step.department_code, step.kind, decision, step.record, 2))
        submitter.flush()
        wait_for(lambda: states()[-1:] == ["published_late"], timeout=60, what="published late")
        assert states() == ["pending", "at_risk", "overdue", "published_late"]
    finally:
        worker.close()
