"""What departments' webhooks are told, and when a failed delivery is tried again."""

from __future__ import annotations

from datetime import UTC, datetime

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
    record = {"department_code": "X", "decision_id": "d", "event_id": "e", "kind": "penalty"}
    notification = from_dead_letter(record | {"problems": problems, "rejected_at": AT}, 3, 17)
    assert notification is not None and notification.notification_id == "rejected-3-17"
    assert notification.payload["problems"] == problems
    # Undecodable bytes name no department: nobody to tell.
    assert from_dead_letter({"department_code": None, "problems": problems, "rejected_at": AT}, 0, 1) is None


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
