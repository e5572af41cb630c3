"""The deadline tracker: a changelogged table of every decision's deadline state, driven by notices.

Notices (seen, published, revoked, check) arrive on deadline.input keyed by decision id, so one agent owns
each decision's state and every transition is made — and emitted — exactly once. A timer on each worker pops
the due items of its own partitions from the alarm index and sends them a `check` notice; the index is
rebuilt from the table after every recovery, which also re-checks everything (e.g. after a long outage).
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
    check,
    next_alarm,
    observe,
    publish,
    recompute,
    revoke,
)
from sgs.streams import metrics
from sgs.streams.alarms import AlarmIndex
from sgs.streams.context import Context

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


def register(app: faust.App, ctx: Context) -> AlarmIndex:
    topics, calendar = ctx.topics, ctx.calendar
    notices = app.topic(topics.deadline_input, key_type=str, value_type=bytes, value_serializer="raw")
    events = app.topic(topics.deadline_events, key_type=str, value_type=bytes, value_serializer="raw")
    table = app.Table(f"{ctx.settings.topic_prefix}deadlines", key_type=str)
    notice_codec, event_codec = ctx.codec("deadline_notice"), ctx.codec("deadline_event")
    alarms = AlarmIndex()
    metrics.CALENDAR_LAST_YEAR.set(max(calendar.years(), default=0))

    def index(tracked: Tracked) -> None:
        if tracked.state.open and not tracked.revoked:
            alarm = next_alarm(tracked, calendar)
            alarms.track(tracked.decision_id, tracked.state.value, alarm, tracked.provisional, tracked.department_code)
        else:
            alarms.forget(tracked.decision_id)

    def apply(
        notice: dict[str, Any], tracked: Tracked | None, now: datetime
    ) -> tuple[Tracked | None, list[Transition]]:
        kind = notice["type"]
        if kind == "seen":
            return observe(
                tracked,
                decision_id=notice["decision_id"],
                kind=notice["kind"],
                department_code=notice["department_code"],
                decision_date=date.fromisoformat(notice["decision_date"]),
                now=notice["at"],
                calendar=calendar,
            )
        if tracked is None:
            return None, []  # nothing seen for it (e.g. notices older than the input topic's retention)
        if kind == "published":
            return publish(tracked, published_at=notice["at"], calendar=calendar)
        if kind == "revoked":
            return revoke(tracked), []
        if kind == "check":
            return check(recompute(tracked, calendar), now=now, calendar=calendar)
        log.warning("unknown deadline notice %r for %s", kind, notice["decision_id"])
        return tracked, []

    @app.agent(notices, name=f"{ctx.settings.topic_prefix}deadline-tracker")
    async def track_deadlines(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                notice = notice_codec.decode(topics.deadline_input, event.value)
                stored = table.get(notice["decision_id"])
                before = from_json(stored) if stored else None
                after, transitions = apply(notice, before, ctx.clock.now())
                if after is None:
                    continue
                if after == before:
                    index(after)  # a check that changed nothing re-arms the alarm it consumed
                    continue
                # Events before the table: a crash in between repeats an event (consumers key on its sequence)
                # rather than losing it, which a table already holding the new state would do on replay.
                for transition in transitions:
                    value = event_codec.encode(topics.deadline_events, event_record(transition))
                    await events.send(key=after.decision_id, value=value)
                    count(transition)
                table[after.decision_id] = to_json(after)
                index(after)
            except Exception:
                # A notice that cannot be applied must not stop the tracker (nor, escaping, be acked silently
                # by Faust mid-loop); it is logged with its position for the operator.
                log.exception("deadline notice at %s:%s failed", event.message.partition, event.message.offset)

    def count(transition: Transition) -> None:
        tracked = transition.tracked
        metrics.DEADLINE_TRANSITIONS.labels(tracked.department_code, tracked.kind, transition.to_state.value).inc()
        if tracked.published_at is not None and transition.to_state in (
            TrackState.PUBLISHED_ON_TIME,
            TrackState.PUBLISHED_LATE,
        ):
            published_on = tracked.published_at.astimezone(CHINA_TZ).date()
            days = max(0, calendar.working_days_between(tracked.decision_date, published_on))
            metrics.PUBLICATION_LATENCY.labels(tracked.kind).observe(days)

    @table.on_recover
    async def rebuild_alarms() -> None:
        alarms.clear()
        for _, data in table.items():
            tracked = from_json(data)
            index(tracked)
            if tracked.provisional and tracked.state.open:
                # The calendar may have gained the year since: re-check at the next tick.
                alarms.track(tracked.decision_id, tracked.state.value, ctx.clock.now(), True, tracked.department_code)
        log.info("deadline alarms rebuilt: %d open decisions", len(alarms))

    async def send_due_checks() -> None:
        now = ctx.clock.now()
        due = alarms.pop_due(now)
        for decision_id in due:
            notice = {"type": "check", "decision_id": decision_id, "at": now}
            await notices.send(key=decision_id, value=notice_codec.encode(topics.deadline_input, notice))
        if due:
            log.info("deadline checks sent for %d decisions (clock %s)", len(due), now.isoformat())
        for (department, state), count in alarms.by_group.items():
            metrics.DEADLINES_OPEN.labels(department, state).set(count)
        metrics.DEADLINES_PROVISIONAL.set(alarms.provisional)

    app.timer(ctx.settings.deadline_check_interval)(send_due_checks)
    return alarms
