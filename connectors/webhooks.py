"""Webhooks for departments: their rejections, their at-risk or overdue deadlines, and sanction alerts.

A department that registered a URL (`sgs departments add … --webhook URL` or `set-webhook`) hears of each of
its dead letters, each at-risk or overdue transition of its decisions, and each sanction alert (联合惩戒) for
it — a penalty against a subject it licensed or watches. Delivery is at least once: a
notification is posted once at once; if the receiver does not answer 2xx it goes to the outbox topic
(`<prefix>webhooks.outbox`) and is retried with capped exponential backoff until it is taken — a receiver that
is down for a day loses nothing. Each carries a stable `notification_id` (also the `X-Sgs-Notification-Id`
header) for the receiver to drop repeats. The notifier runs in every gateway process (one consumer group).

New notifications are taken a window at a time (up to `WINDOW`): each department's in order, the departments at
once, so a receiver that hangs delays only its own department. After a department's first failure in a window
the rest of its window goes to the outbox untried (`deferred`): its receiver is down, and trying each in turn
would hold the window for a timeout per notification.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from confluent_kafka import Consumer, Message, Producer

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.connectors.departments import DepartmentDirectory
from sgs.connectors.gateway import metrics
from sgs.core.problems import dead_letter_id
from sgs.streams.topics import Topics

log = logging.getLogger(__name__)
MAX_DELAY_S = 300.0
NOTIFIED_STATES = ("at_risk", "overdue")
WINDOW = 200  # new notifications taken at once
RECEIVERS_AT_ONCE = 8  # departments delivered to in parallel
DEFERRED = "not tried: an earlier notification of this window failed"


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str
    department_code: str
    type: str  # rejected | at_risk | overdue
    payload: Mapping[str, Any]
    attempts: int = 0
    not_before: datetime | None = None
    last_error: str | None = None

    def as_record(self, now: datetime) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "department_code": self.department_code,
            "type": self.type,
            "payload": json.dumps(self.payload, ensure_ascii=False, default=str),
            "attempts": self.attempts,
            "not_before": self.not_before or now,
            "last_error": self.last_error,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Notification:
        return cls(
            record["notification_id"],
            record["department_code"],
            record["type"],
            json.loads(record["payload"]),
            record["attempts"],
            record["not_before"],
            record["last_error"],
        )


def from_dead_letter(record: Mapping[str, Any]) -> Notification | None:
    """A rejection, for the department that sent it (unknown for undecodable bytes: nobody to tell). The same
    event refused again after a worker's crash is notified under the same id, so a receiver sees the repeat."""
    department = record.get("department_code")
    if not department:
        return None
    notification_id = f"rejected-{hashlib.sha256(dead_letter_id(record).encode()).hexdigest()[:24]}"
    payload = {
        "type": "rejected",
        "notification_id": notification_id,
        "decision_id": record.get("decision_id"),
        "event_id": record.get("event_id"),
        "kind": record.get("kind"),
        "rejected_at": record["rejected_at"].isoformat(),
        "problems": list(record["problems"]),
    }
    return Notification(notification_id, department, "rejected", payload)


def from_deadline_event(record: Mapping[str, Any]) -> Notification | None:
    """An at-risk or overdue transition, for the decision's department; other transitions say nothing."""
    if record["to_state"] not in NOTIFIED_STATES:
        return None
    # ASCII, as it travels in a header too; the decision id itself (Chinese 文号) is in the payload.
    digest = hashlib.sha256(record["decision_id"].encode()).hexdigest()[:20]
    notification_id = f"deadline-{digest}-{record['sequence']}"
    payload = {
        "type": record["to_state"],
        "notification_id": notification_id,
        "decision_id": record["decision_id"],
        "kind": record["kind"],
        "decision_date": record["decision_date"],
        "deadline": record["deadline"],
        "provisional": record["provisional"],
        "at": record["at"].isoformat(),
    }
    return Notification(notification_id, record["department_code"], record["to_state"], payload)


def from_sanction_alert(record: Mapping[str, Any]) -> Notification:
    """A sanction alert (联合惩戒), for the department it names: a licence issuer or a watcher."""
    payload = {
        "type": "sanction_alert",
        "notification_id": f"alert-{record['alert_id']}",
        **{k: v for k, v in record.items() if k != "raised_at"},
        "raised_at": record["raised_at"].isoformat(),
    }
    return Notification(payload["notification_id"], record["notify_department_code"], "sanction_alert", payload)


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: 2, 4, 8 … capped at 5 minutes."""
    return float(min(MAX_DELAY_S, 2.0 ** max(1, attempts)))


def post_json(url: str, notification: Notification) -> str | None:
    """Deliver once; None when the receiver answered 2xx, else what went wrong."""
    try:
        response = httpx.post(
            url, json=notification.payload, headers={"X-Sgs-Notification-Id": notification.notification_id}, timeout=5
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # InvalidURL is no HTTPError: escaping, it would stop every department's notifications (read again and
        # again). A URL that cannot work is a failed delivery, retried until the operator corrects it.
        return f"{type(exc).__name__}: {exc}"
    return None if response.is_success else f"HTTP {response.status_code}"


def deliver_window(
    notifications: Sequence[Notification],
    url_of: Callable[[str], str | None],
    deliver: Callable[[str, Notification], str | None],
    pool: ThreadPoolExecutor,
) -> list[tuple[Notification, str]]:
    """Post a window of notifications: each department's in order, departments in parallel; returns the ones
    not delivered, with why — after a department's first failure the rest of its window untried (`DEFERRED`).
    Departments without a webhook are skipped (nobody asked to hear of it)."""
    by_department: dict[str, list[Notification]] = {}
    for notification in notifications:
        by_department.setdefault(notification.department_code, []).append(notification)

    def one_department(url: str, queue: list[Notification]) -> list[tuple[Notification, str]]:
        for index, notification in enumerate(queue):
            error = deliver(url, notification)
            department = notification.department_code
            metrics.WEBHOOK_DELIVERIES.labels(department, "failed" if error else "delivered").inc()
            if error is not None:
                metrics.WEBHOOK_DELIVERIES.labels(department, "deferred").inc(len(queue) - index - 1)
                return [(notification, error), *((later, DEFERRED) for later in queue[index + 1 :])]
        return []

    jobs = [
        pool.submit(one_department, url, queue)
        for department, queue in by_department.items()
        if (url := url_of(department))
    ]
    return [failure for job in jobs for failure in job.result()]


class WebhookNotifier:
    """Two threads: new notifications from dead letters, deadline events and alerts, and the outbox's retries;
    the posts themselves in a pool (`RECEIVERS_AT_ONCE` departments at once)."""

    def __init__(
        self,
        settings: Settings,
        directory: DepartmentDirectory,
        *,
        deliver: Callable[[str, Notification], str | None] = post_json,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.directory, self.deliver, self.clock = settings, directory, deliver, clock
        self.topics = Topics(settings.topic_prefix)
        self._dead_letters = AvroCodec(settings.registry, "dead_letter")
        self._events = AvroCodec(settings.registry, "deadline_event")
        self._alerts = AvroCodec(settings.registry, "alert")
        self._outbox = AvroCodec(settings.registry, "notification")
        self._producer = Producer({"bootstrap.servers": settings.kafka_servers, "enable.idempotence": True})
        self._pool = ThreadPoolExecutor(RECEIVERS_AT_ONCE, thread_name_prefix="webhook")
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._notify_new,), name="webhooks", daemon=True),
            threading.Thread(target=self._guarded, args=(self._retry_outbox,), name="webhooks-outbox", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._producer.flush(10)

    def _consumer(self, group: str, topics: list[str], reset: str) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_servers,
                "group.id": f"{self.settings.topic_prefix}{group}",
                # New notifications from now on (not the whole history); the outbox from its start.
                "auto.offset.reset": reset,
                "enable.auto.commit": True,
                "enable.auto.offset.store": False,  # an offset is stored only once its message was handled
                # The outbox waits up to MAX_DELAY_S between polls, then delivers: more than the default 300 s.
                "max.poll.interval.ms": int((MAX_DELAY_S + 120) * 1000),
            }
        )
        consumer.subscribe(topics)
        return consumer

    def _guarded(self, loop: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                loop()
            except Exception:
                log.exception("webhook notifier failed; starting again in 5 s")
                self._stop.wait(5)

    def _notify_new(self) -> None:
        topics = [self.topics.rejected, self.topics.deadline_events, self.topics.alerts]
        consumer = self._consumer("webhooks", topics, "latest")
        try:
            while not self._stop.is_set():
                messages = [m for m in consumer.consume(WINDOW, 0.5) if not m.error() and m.value() is not None]
                notifications = [n for n in map(self._notification, messages) if n is not None]
                self._attempt(notifications)
                for message in messages:
                    consumer.store_offsets(message=message)
        finally:
            consumer.close()

    def _notification(self, message: Message) -> Notification | None:
        value = message.value()
        assert value is not None
        if message.topic() == self.topics.rejected:
            record = self._dead_letters.decode(self.topics.rejected, value)
            return from_dead_letter(record)
        if message.topic() == self.topics.alerts:
            return from_sanction_alert(self._alerts.decode(self.topics.alerts, value))
        return from_deadline_event(self._events.decode(self.topics.deadline_events, value))

    def _url_of(self, department_code: str) -> str | None:
        department = self.directory.get(department_code)
        return department.webhook_url if department is not None else None

    def _attempt(self, notifications: Sequence[Notification]) -> None:
        """Deliver, and put what was not delivered in the outbox (acknowledged before the caller moves on)."""
        failures = deliver_window(notifications, self._url_of, self.deliver, self._pool)
        for notification, error in failures:
            attempts = notification.attempts + (error != DEFERRED)
            later = self.clock() + timedelta(seconds=retry_delay(attempts))  # a deferred one: after 2 s
            queued = replace(notification, attempts=attempts, not_before=later, last_error=error)
            log.warning("webhook for %s failed (%s): attempt %d at %s", queued.notification_id, error, attempts, later)
            value = self._outbox.encode(self.topics.webhooks_outbox, queued.as_record(self.clock()))
            self._producer.produce(self.topics.webhooks_outbox, key=notification.department_code, value=value)
        if failures and self._producer.flush(30):
            raise RuntimeError(f"the outbox did not take {len(failures)} notifications")

    def _retry_outbox(self) -> None:
        consumer = self._consumer("webhooks-outbox", [self.topics.webhooks_outbox], "earliest")
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.5)
                if message is None or message.error() or message.value() is None:
                    continue
                record = self._outbox.decode(self.topics.webhooks_outbox, message.value() or b"")
                notification = Notification.from_record(record)
                while notification.not_before and self.clock() < notification.not_before:
                    if self._stop.wait(min(1.0, (notification.not_before - self.clock()).total_seconds())):
                        return  # not stored: the next notifier picks it up again
                self._attempt([notification])
                consumer.store_offsets(message=message)
        finally:
            consumer.close()
