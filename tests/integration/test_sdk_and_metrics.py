"""The department SDK end to end, and the worker's Prometheus metrics, against the real stack."""

from __future__ import annotations

import urllib.request
from datetime import datetime, timedelta

from sgs.config import Settings
from sgs.connectors.publisher import Publisher
from sgs.connectors.simulate import demo_feed
from sgs.core.dates import CHINA_TZ
from tests.integration.conftest import WorkerProcess
from tests.integration.waiting import wait_for, wait_public


def test_sdk_publishes_and_revokes_through_the_pipeline(settings: Settings, worker: WorkerProcess) -> None:
    yesterday = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    steps = [s for s in demo_feed(12, yesterday, seed=5, first_serial=900_000) if s.note == "timely" and s.record]
    department = steps[0].department_code
    mine = [s for s in steps if s.department_code == department][:1] + [
        s for s in steps if s.department_code != department
    ][:2]
    receipts = []
    for step in mine:
        assert step.record is not None
        with Publisher(step.department_code, settings=settings) as publisher:
            receipts.append(publisher.publish(step.kind, step.record))
    assert [r.status for r in receipts] == ["accepted"] * 3, [(r.status, r.problems, r.error) for r in receipts]
    ids = {r.decision_id for r in receipts if r.decision_id is not None}

    # A department cannot publish another's decision: refused on the clerk's side, nothing sent.
    foreign = mine[1].record
    assert foreign is not None
    with Publisher(department, settings=settings) as publisher:
        refused = publisher.publish(mine[1].kind, foreign)
    assert refused.status == "invalid" and {p.code for p in refused.problems} == {"department.not_own"}

    revoked = receipts[0].decision_id
    assert revoked is not None
    with Publisher(department, settings=settings) as publisher:
        assert publisher.revoke(revoked).decision_id == revoked
    assert publisher.results[0].status == "accepted"

    wait_public(settings, ids, ids - {revoked}, worker, what="the SDK's decisions public, the revoked one withdrawn")


def test_worker_exports_prometheus_metrics(settings: Settings, worker: WorkerProcess) -> None:
    def scrape() -> str | None:
        assert worker.alive(), f"the worker exited; see {worker.log_path}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{settings.worker_web_port}/metrics", timeout=5) as r:
                text: str = r.read().decode()
        except OSError:
            return None
        return text if "sgs_submissions_total{" in text else None

    text = wait_for(scrape, timeout=120, what="submissions counted on /metrics")
    for name in (
        "sgs_submissions_total",
        "sgs_dead_letters_total",
        "sgs_deadline_transitions_total",
        "sgs_deadlines_open",
        "sgs_publication_latency_working_days",
        "sgs_elasticsearch_bulk_duration_seconds",
        "sgs_elasticsearch_retries_total",
        "sgs_elasticsearch_version_conflicts_total",
        "sgs_consumer_lag_messages",
    ):
        assert f"\n# TYPE {name} " in text, name
    assert 'sgs_submissions_total{department="' in text
