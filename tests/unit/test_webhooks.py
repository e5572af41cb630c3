"""What departments' webhooks are told, and when a failed delivery is tried again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sgs.connectors.webhooks import Notification, from_dead_letter, from_deadline_event, retry_delay

AT = datetime(2026, 3, 2, 1, tzinfo=UTC)


def event(to_state: str) -> dict[str, object]:
    return {
        "decision_id": "penalty:X:信环罚〔2026〕1号",
        "kind": "penalty",
        "department_code": "X",
        "from_state": "pending",
        "to_state": to_state,
        "at": AT,
        "decision_date": "2026-02-20",
        "deadline": "2026-03-03",
        "provisional": False,
        "sequence": 2,
    }


def test_at_risk_and_overdue_are_told_other_transitions_are_not() -> None:
    at_risk = from_deadline_event(event("at_risk"))
    assert at_risk is not None and at_risk.type == "at_risk" and at_risk.department_code == "X"
    assert at_risk.notification_id == from_deadline_event(event("at_risk")).notification_id  # type: ignore[union-attr]
    assert at_risk.notification_id.isascii() and at_risk.notification_id.endswith("-2")  # a header value too
    assert at_risk.payload["deadline"] == "2026-03-03"
    assert from_deadline_event(event("overdue")) is not None
    assert from_deadline_event(event("published_on_time")) is None and from_deadline_event(event("pending")) is None


def test_a_rejection_goes_to_its_department_with_every_problem() -> None:
    problems = [{"field": "subject_name", "code": "field.required", "message": "行政相对人名称为必填项"}]
    record: dict[str, Any] = {"department_code": "X", "decision_id": "d", "event_id": "e", "kind": "penalty"}
    record |= {"source_topic": "sgs.decisions.submitted", "source_partition": 3, "source_offset": 17}
    notification = from_dead_letter(record | {"problems": problems, "rejected_at": AT})
    assert notification is not None and notification.payload["problems"] == problems
    # The same event refused again after a crash: the same id, so the receiver sees the repeat.
    again = from_dead_letter(record | {"problems": problems, "rejected_at": AT + timedelta(seconds=5)})
    assert again is not None and again.notification_id == notification.notification_id
    assert notification.notification_id.startswith("rejected-") and notification.notification_id.isascii()
    # Undecodable bytes name no department: nobody to tell.
    assert from_dead_letter({"department_code": None, "problems": problems, "rejected_at": AT}) is None


def test_retries_back_off_to_a_cap() -> None:
    assert [retry_delay(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert retry_delay(30) == 300.0


def test_a_queued_notification_survives_the_outbox_round_trip() -> None:
    notification = from_deadline_event(event("at_risk"))
    assert notification is not None
    queued = Notification.from_record(notification.as_record(AT) | {"attempts": 2, "last_error": "HTTP 503"})
    assert queued.payload == notification.payload and queued.attempts == 2 and queued.not_before == AT


def test_a_sanction_alert_goes_to_the_department_it_names() -> None:
    from sgs.connectors.webhooks import from_sanction_alert

    record = {"alert_id": "ab12", "notify_department_code": "A", "severity": "high", "raised_at": AT}
    notification = from_sanction_alert(record)
    assert (notification.department_code, notification.type, notification.notification_id) == (
        "A",
        "sanction_alert",
        "alert-ab12",
    )
    assert notification.payload["severity"] == "high" and notification.payload["raised_at"] == AT.isoformat()


def test_a_url_that_cannot_work_is_a_failed_delivery_not_an_error() -> None:
    from sgs.connectors.webhooks import post_json

    notification = from_deadline_event(event("at_risk"))
    assert notification is not None
    # httpx.InvalidURL is not an httpx.HTTPError: raised, it would stop the notifier on this message for good.
    error = post_json("http://[::1", notification)
    assert error is not None and error.startswith("InvalidURL")


def test_a_window_goes_out_per_department_in_order_and_a_hanging_receiver_holds_only_its_own() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sgs.connectors.webhooks import DEFERRED, deliver_window

    def note(department: str, n: int) -> Notification:
        return Notification(f"{department}-{n}", department, "rejected", {})

    window = [note(d, n) for n in range(3) for d in ("slow", "A", "B", "silent")]
    posted: list[str] = []
    posted_at: dict[str, float] = {}
    lock = threading.Lock()

    def deliver(url: str, notification: Notification) -> str | None:
        if url == "http://slow":
            time.sleep(0.5)  # a receiver that answers late, then badly
            return "ReadTimeout"
        with lock:
            posted.append(notification.notification_id)
            posted_at[notification.notification_id] = time.monotonic()
        return None

    urls = {"slow": "http://slow", "A": "http://a", "B": "http://b", "silent": None}
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        failures = deliver_window(window, urls.get, deliver, pool)
    took = time.monotonic() - started

    # The slow department was tried once: its first failure defers the rest of its window, in order.
    assert [(n.notification_id, error) for n, error in failures] == [
        ("slow-0", "ReadTimeout"),
        ("slow-1", DEFERRED),
        ("slow-2", DEFERRED),
    ]
    assert took < 1.0, took  # one timeout, not three
    assert max(posted_at.values()) - started < 0.4  # the others were not held behind it
    # Every other department with a webhook got all of its window, each in its own order; none for "silent".
    assert [i for i in posted if i.startswith("A")] == ["A-0", "A-1", "A-2"]
    assert [i for i in posted if i.startswith("B")] == ["B-0", "B-1", "B-2"]
    assert len(posted) == 6
