"""The deadline tracker's state machine, pure: what each observation does to one decision's deadline state.

States: pending → published_on_time | published_late; pending → at_risk (the deadline is today or the next
working day) → overdue (the deadline day ended, China Standard Time, with nothing published) →
published_late. Every function takes `now` (an aware datetime) and the calendar, and returns the new state
with the transitions it made, so the stream shell only stores, emits and counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sgs.core.calendar import WorkingCalendar
from sgs.core.dates import CHINA_TZ
from sgs.core.deadline import deadline as deadline_of
from sgs.core.deadline import is_at_risk, working_days_late


class TrackState(StrEnum):
    PENDING = "pending"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    PUBLISHED_ON_TIME = "published_on_time"
    PUBLISHED_LATE = "published_late"

    @property
    def open(self) -> bool:
        """Nothing valid published yet."""
        return self in (TrackState.PENDING, TrackState.AT_RISK, TrackState.OVERDUE)


@dataclass(frozen=True, slots=True)
class Tracked:
    decision_id: str
    kind: str
    department_code: str
    decision_date: date
    deadline: date
    provisional: bool
    state: TrackState
    first_seen_at: datetime
    published_at: datetime | None = None
    working_days_late: int | None = None
    # Changes so far (every transition, and every change without one: a revoke, a new decision date, a recomputed
    # deadline): the version of this decision's document in the deadlines index.
    sequence: int = 0
    # Withdrawn before it was published (revoked, or a version the platform will never publish: a licence no
    # longer in force, a penalty whose publication period ended before it arrived): nothing left to chase.
    revoked: bool = False
    # The newest submission version of `department_code` that set the decision date or withdrew the item: an
    # older one arriving late (a rejected version is stored nowhere else) says nothing new.
    version: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    decision_id: str
    from_state: TrackState | None  # None: first seen
    to_state: TrackState
    at: datetime
    tracked: Tracked


def end_of_day(day: date) -> datetime:
    """The instant a day ends in China Standard Time: a deadline day's records are on time before it."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=CHINA_TZ)


def _today(now: datetime) -> date:
    return now.astimezone(CHINA_TZ).date()


def _move(tracked: Tracked, to: TrackState, now: datetime, **changes: object) -> tuple[Tracked, Transition]:
    moved = dataclasses.replace(tracked, state=to, sequence=tracked.sequence + 1, **changes)  # type: ignore[arg-type]
    return moved, Transition(tracked.decision_id, tracked.state, to, now, moved)


def observe(
    tracked: Tracked | None,
    *,
    decision_id: str,
    kind: str,
    department_code: str,
    decision_date: date,
    now: datetime,
    calendar: WorkingCalendar,
    version: int = 0,
) -> tuple[Tracked, list[Transition]]:
    """A submission of the decision was seen (valid or not): start tracking it, or follow a new decision date."""
    due = deadline_of(decision_date, calendar)
    if tracked is None:
        first = Tracked(
            decision_id,
            kind,
            department_code,
            decision_date,
            due.date,
            due.provisional,
            TrackState.PENDING,
            now,
            sequence=1,
            version=version,
        )
        opened = Transition(decision_id, None, TrackState.PENDING, now, first)
        checked, first_checks = check(first, now=now, calendar=calendar)
        return checked, [opened, *first_checks]
    if not tracked.state.open:
        return tracked, []
    if department_code == tracked.department_code:  # versions order one department's submissions only
        if version < tracked.version:
            return tracked, []
        if version > tracked.version:
            tracked = dataclasses.replace(tracked, version=version)
    if tracked.revoked:  # withdrawn, and now sent again: the department means it, chase it again
        tracked = dataclasses.replace(tracked, revoked=False, sequence=tracked.sequence + 1)
    elif tracked.decision_date == decision_date:
        return tracked, []
    transitions: list[Transition] = []
    if tracked.decision_date != decision_date:
        # A correction changed the decision date while nothing is published: the deadline follows it, and an
        # item at risk of the old deadline is pending again when the new one is further away. Overdue stays
        # overdue: the breach was real, whatever the date says now.
        tracked = dataclasses.replace(
            tracked,
            decision_date=decision_date,
            deadline=due.date,
            provisional=due.provisional,
            sequence=tracked.sequence + 1,
        )
        further = _today(now) < tracked.deadline and not is_at_risk(tracked.deadline, _today(now), calendar)
        if tracked.state is TrackState.AT_RISK and further:
            tracked, transition = _move(tracked, TrackState.PENDING, now)
            transitions.append(transition)
    checked, later = check(tracked, now=now, calendar=calendar)
    return checked, [*transitions, *later]


def check(tracked: Tracked, *, now: datetime, calendar: WorkingCalendar) -> tuple[Tracked, list[Transition]]:
    """Time passed: an open item may have become at risk or overdue."""
    transitions: list[Transition] = []
    if tracked.revoked:
        return tracked, transitions
    if tracked.state in (TrackState.PENDING, TrackState.AT_RISK) and now >= end_of_day(tracked.deadline):
        tracked, transition = _move(tracked, TrackState.OVERDUE, now)
        transitions.append(transition)
    elif tracked.state is TrackState.PENDING and is_at_risk(tracked.deadline, _today(now), calendar):
        tracked, transition = _move(tracked, TrackState.AT_RISK, now)
        transitions.append(transition)
    return tracked, transitions


def publish(
    tracked: Tracked, *, published_at: datetime, calendar: WorkingCalendar, withheld: bool = False
) -> tuple[Tracked, list[Transition]]:
    """A valid version became searchable: the item closes on time or late. Only the first publication counts.
    `withheld`: the platform had kept it from the public (the negative list) and publishes it now that the rules
    changed — the department did its part when it sent it: on time, unless it was overdue by then."""
    if not tracked.state.open:
        return tracked, []
    excused = withheld and tracked.state is not TrackState.OVERDUE
    tracked = dataclasses.replace(tracked, revoked=False)  # withdrawn no more: it is public
    # Overdue stays a breach (a later decision date sent since cannot make it on time).
    if excused or (published_at < end_of_day(tracked.deadline) and tracked.state is not TrackState.OVERDUE):
        moved, transition = _move(
            tracked, TrackState.PUBLISHED_ON_TIME, published_at, published_at=published_at, working_days_late=0
        )
    else:
        today = _today(published_at)
        late = (
            days_late_so_far(tracked.deadline, today, calendar)
            if tracked.state is TrackState.OVERDUE
            else working_days_late(tracked.deadline, today, calendar)
        )
        moved, transition = _move(
            tracked, TrackState.PUBLISHED_LATE, published_at, published_at=published_at, working_days_late=late
        )
    return moved, [transition]


def revoke(tracked: Tracked, version: int = 0) -> Tracked:
    """The decision was withdrawn (by the submission `version` of its department): an open item stops being
    chased; a published one keeps its record."""
    if not tracked.state.open or tracked.revoked:
        return tracked
    return dataclasses.replace(
        tracked, revoked=True, sequence=tracked.sequence + 1, version=max(tracked.version, version)
    )


def recompute(tracked: Tracked, *, now: datetime, calendar: WorkingCalendar) -> tuple[Tracked, list[Transition]]:
    """A provisional deadline, after the calendar gained the year's arrangement; then `check`. An item found
    overdue by the guessed deadline whose real deadline has not ended is pending again: that breach was the
    guess's, not the department's (a breach of a known deadline stays, whatever a correction says later)."""
    transitions: list[Transition] = []
    if tracked.provisional:
        due = deadline_of(tracked.decision_date, calendar)
        if (due.date, due.provisional) != (tracked.deadline, tracked.provisional):
            tracked = dataclasses.replace(
                tracked, deadline=due.date, provisional=due.provisional, sequence=tracked.sequence + 1
            )
            if tracked.state is TrackState.OVERDUE and not tracked.revoked and now < end_of_day(tracked.deadline):
                tracked, transition = _move(tracked, TrackState.PENDING, now)
                transitions.append(transition)
    checked, later = check(tracked, now=now, calendar=calendar)
    return checked, [*transitions, *later]


def next_alarm(tracked: Tracked, calendar: WorkingCalendar) -> datetime | None:
    """When `check` can next change this item: the start of its first at-risk day, or the end of its deadline."""
    if tracked.revoked:
        return None
    if tracked.state is TrackState.PENDING:
        # At risk from the start of the last working day before the deadline (weekends in between count too).
        day = tracked.deadline - timedelta(days=1)
        while not calendar.is_working_day(day) and day > tracked.decision_date:
            day -= timedelta(days=1)
        return datetime.combine(day, time.min, tzinfo=CHINA_TZ)
    if tracked.state is TrackState.AT_RISK:
        return end_of_day(tracked.deadline)
    return None


def days_late_so_far(deadline: date, today: date, calendar: WorkingCalendar) -> int:
    """For an overdue item: how many working days past its deadline it is today — at least 1, also when a
    corrected decision date has since moved the deadline ahead (the breach was real; see `observe`)."""
    return max(1, working_days_late(deadline, today, calendar))
