"""The deadline tracker: a changelogged table of every decision's deadline state, driven by notices.

Notices are what the decisions agent learns about a decision (seen, published, revoked) and what arrives on
deadline.input keyed by decision id (a `check`, or any notice an operator's tool sends), so the agent that
owns a decision owns its deadline state and every transition is made — and emitted — exactly once. A timer on
each worker pops the due items of its own partitions from the alarm index and sends them a `check` notice;
the index is rebuilt from the table after every recovery, which also re-checks everything (e.g. after a long
outage).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from typing import Any

import faust

from sgs.core.dates import CHINA_TZ
from sgs.core.tracking import (
    Tracked,
    TrackState,
    Transition,
    next_alarm,
    observe,
    publish,
    recompute,
    revoke,
)
from sgs.streams import metrics
from sgs.streams.alarms import AlarmIndex, values_yielding
from sgs.streams.context import Context
from sgs.streams.outbox import Outbox

log = logging.getLogger(__name__)


def to_json(tracked: Tracked) -> dict[str, Any]:
    # Flat fields only: a comprehension, not dataclasses.asdict, whose deep copies were 3 % of a worker's time.
    data = {field.name: getattr(tracked, field.name) for field in dataclasses.fields(tracked)}
    for name, value in data.items():
        if isinstance(value, date):  # datetime is a date too
            data[name] = value.isoformat()
    return data


def from_json(data: dict[str, Any]) -> Tracked:
    return Tracked(
        decision_id=data["decision_id"],
        kind=data["kind"],
        department_code=data["department_code"],
        decision_date=date.fromisoformat(data["decision_date"]),
        deadline=date.fromisoformat(data["deadline"]),
        provisional=data["provisional"],
        state=TrackState(data["state"]),
        first_seen_at=datetime.fromisoformat(data["first_seen_at"]),
        published_at=datetime.fromisoformat(data["published_at"]) if data["published_at"] else None,
        working_days_late=data["working_days_late"],
        sequence=data["sequence"],
        revoked=data.get("revoked", False),
        version=data.get("version", 0),  # states stored before versions were kept
    )


def event_record(transition: Transition) -> dict[str, Any]:
    tracked = transition.tracked
    return {
        "decision_id": tracked.decision_id,
        "kind": tracked.kind,
        "department_code": tracked.department_code,
        "from_state": transition.from_state.value if transition.from_state else None,
        "to_state": transition.to_state.value,
        "at": transition.at,
        "decision_date": tracked.decision_date.isoformat(),
        "deadline": tracked.deadline.isoformat(),
        "provisional": tracked.provisional,
        "first_seen_at": tracked.first_seen_at,
        "published_at": tracked.published_at,
        "working_days_late": tracked.working_days_late,
        "sequence": tracked.sequence,
    }


WITHDRAWN = "withdrawn"  # the deadlines index's state of an item withdrawn before it was published


def deadline_document(tracked: Tracked, updated_at: datetime, now: datetime) -> dict[str, Any]:
    """The deadlines index holds each decision's latest deadline state — also after a change that is no
    transition (a revoke: state `withdrawn`; a new decision date; a recomputed provisional deadline)."""
    return {
        "decision_id": tracked.decision_id,
        "kind": tracked.kind,
        "department_code": tracked.department_code,
        "state": WITHDRAWN if tracked.revoked else tracked.state.value,
        "decision_date": tracked.decision_date.isoformat(),
        "deadline": tracked.deadline.isoformat(),
        "provisional": tracked.provisional,
        "first_seen_at": tracked.first_seen_at.isoformat(),
        "published_at": tracked.published_at.isoformat() if tracked.published_at else None,
        "working_days_late": tracked.working_days_late,
        "sequence": tracked.sequence,
        "updated_at": updated_at.isoformat(),
        "indexed_at": now.isoformat(),
    }


class DeadlineTracker:
    """The deadline table, its alarm index and timer, and the rules that move a decision's deadline state."""

    def __init__(self, app: faust.App, ctx: Context, outbox: Outbox) -> None:
        self.topics, self.calendar, self.clock, self.outbox = ctx.topics, ctx.calendar, ctx.clock, outbox
        self.table = app.Table(f"{ctx.settings.topic_prefix}deadlines", key_type=str)
        self.notice_codec, self.event_codec = ctx.codec("deadline_notice"), ctx.codec("deadline_event")
        self.alarms = AlarmIndex()
        self.reported: set[tuple[str, str]] = set()  # the sgs_deadlines_open series this worker sets
        metrics.CALENDAR_LAST_YEAR.set(max(self.calendar.years(), default=0))
        self.table.on_recover(self._rebuild_alarms)
        app.timer(ctx.settings.deadline_check_interval)(self._send_due_checks)

    def load(self, decision_id: str) -> Tracked | None:
        stored = self.table.get(decision_id)
        return from_json(stored) if stored else None

    def decode(self, value: bytes) -> dict[str, Any]:
        return self.notice_codec.decode(self.topics.deadline_input, value)

    def apply(
        self, notice: dict[str, Any], tracked: Tracked | None, now: datetime
    ) -> tuple[Tracked | None, list[Transition]]:
        """The state after one notice, and the transitions it made (none: the state is unchanged)."""
        calendar, kind = self.calendar, notice["type"]
        if kind == "seen":
            return observe(
                tracked,
                decision_id=notice["decision_id"],
                kind=notice["kind"],
                department_code=notice["department_code"],
                decision_date=date.fromisoformat(notice["decision_date"]),
                now=notice["at"],
                calendar=calendar,
                version=notice.get("version", 0),
            )
        if tracked is None:
            return None, []  # nothing seen for it (e.g. notices older than the input topic's retention)
        if kind == "published":
            return publish(
                tracked, published_at=notice["at"], calendar=calendar, withheld=notice.get("withheld", False)
            )
        if kind == "revoked":
            return revoke(tracked, notice.get("version", 0)), []
        if kind == "check":
            return recompute(tracked, now=now, calendar=calendar)
        log.warning("unknown deadline notice %r for %s", kind, notice["decision_id"])
        return tracked, []

    def emit(self, transition: Transition) -> dict[str, Any]:
        """Send a transition to deadline.events and count it; returns the event record."""
        record = event_record(transition)
        value = self.event_codec.encode(self.topics.deadline_events, record)
        self.outbox.send(self.topics.deadline_events, transition.tracked.decision_id, value)
        self._count(transition)
        return record

    def store(self, tracked: Tracked, changed: bool) -> None:
        """Keep the new state (an event of this decision must be current: it names the table partition) and
        re-arm its alarm; a check that changed nothing re-arms the alarm it consumed."""
        if changed:
            self.table[tracked.decision_id] = to_json(tracked)
        self._index(tracked)

    def _index(self, tracked: Tracked) -> None:
        if tracked.state.open and not tracked.revoked:
            alarm = next_alarm(tracked, self.calendar)
            self.alarms.track(
                tracked.decision_id, tracked.state.value, alarm, tracked.provisional, tracked.department_code
            )
        else:
            self.alarms.forget(tracked.decision_id)

    def _count(self, transition: Transition) -> None:
        tracked = transition.tracked
        metrics.DEADLINE_TRANSITIONS.labels(tracked.department_code, tracked.kind, transition.to_state.value).inc()
        if tracked.published_at is not None and transition.to_state in (
            TrackState.PUBLISHED_ON_TIME,
            TrackState.PUBLISHED_LATE,
        ):
            published_on = tracked.published_at.astimezone(CHINA_TZ).date()
            days = max(0, self.calendar.working_days_between(tracked.decision_date, published_on))
            metrics.PUBLICATION_LATENCY.labels(tracked.kind).observe(days)

    async def _rebuild_alarms(self) -> None:
        self.alarms.clear()
        async for data in values_yielding(self.table.items()):
            tracked = from_json(data)
            self._index(tracked)
            if tracked.provisional and tracked.state.open:
                # The calendar may have gained the year since: re-check at the next tick.
                self.alarms.track(
                    tracked.decision_id, tracked.state.value, self.clock.now(), True, tracked.department_code
                )
        log.info("deadline alarms rebuilt: %d open decisions", len(self.alarms))

    async def _send_due_checks(self) -> None:
        now = self.clock.now()
        due = self.alarms.pop_due(now)
        for decision_id in due:
            notice = {"type": "check", "decision_id": decision_id, "at": now}
            value = self.notice_codec.encode(self.topics.deadline_input, notice)
            self.outbox.send(self.topics.deadline_input, decision_id, value)
        if due:
            await self.outbox.delivered()
            log.info("deadline checks sent for %d decisions (clock %s)", len(due), now.isoformat())
        self.reported = metrics.report_open(self.alarms.by_group, self.reported)
        metrics.DEADLINES_PROVISIONAL.set(self.alarms.provisional)
