from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sgs.core.calendar import default_calendar
from sgs.core.dates import CHINA_TZ
from sgs.core.tracking import (
    Tracked,
    TrackState,
    check,
    days_late_so_far,
    end_of_day,
    next_alarm,
    observe,
    publish,
    recompute,
    revoke,
)

CAL = default_calendar()


def cst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=CHINA_TZ)


def seen(decided: date, now: datetime) -> tuple[Tracked, list[TrackState]]:
    tracked, transitions = observe(
        None,
        decision_id="penalty:X:1",
        kind="penalty",
        department_code="D",
        decision_date=decided,
        now=now,
        calendar=CAL,
    )
    return tracked, [t.to_state for t in transitions]


def test_spring_festival_example_from_the_standard() -> None:
    tracked, states = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    assert tracked.deadline == date(2025, 2, 10) and not tracked.provisional
    assert states == [TrackState.PENDING]


def test_at_risk_from_the_last_working_day_before_the_deadline() -> None:
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    alarm = next_alarm(tracked, CAL)
    assert alarm == cst(2025, 2, 8)  # Saturday 2025-02-08 is a makeup working day
    assert check(tracked, now=alarm - timedelta(seconds=1), calendar=CAL)[1] == []
    at_risk, transitions = check(tracked, now=alarm, calendar=CAL)
    assert at_risk.state is TrackState.AT_RISK and len(transitions) == 1
    assert next_alarm(at_risk, CAL) == end_of_day(date(2025, 2, 10)) == cst(2025, 2, 11)


def test_overdue_exactly_when_the_deadline_day_ends_in_china_standard_time() -> None:
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    before, none = check(tracked, now=cst(2025, 2, 10, 23, 59, 59), calendar=CAL)
    assert before.state is TrackState.AT_RISK and [t.to_state for t in none] == [TrackState.AT_RISK]
    overdue, transitions = check(before, now=cst(2025, 2, 11), calendar=CAL)
    assert overdue.state is TrackState.OVERDUE and [t.from_state for t in transitions] == [TrackState.AT_RISK]
    assert check(overdue, now=cst(2025, 3, 1), calendar=CAL)[1] == []  # once


def test_published_by_the_end_of_the_deadline_day_is_on_time() -> None:
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    done, _ = publish(tracked, published_at=cst(2025, 2, 10, 23, 59), calendar=CAL)
    assert done.state is TrackState.PUBLISHED_ON_TIME and done.working_days_late == 0
    assert publish(done, published_at=cst(2025, 2, 12), calendar=CAL)[1] == []  # only the first counts


def test_overdue_then_published_late_counts_working_days() -> None:
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    overdue, _ = check(tracked, now=cst(2025, 2, 11, 0, 0, 1), calendar=CAL)
    late, transitions = publish(overdue, published_at=cst(2025, 2, 13, 9), calendar=CAL)
    assert late.state is TrackState.PUBLISHED_LATE and late.working_days_late == 3
    assert [(t.from_state, t.to_state) for t in transitions] == [(TrackState.OVERDUE, TrackState.PUBLISHED_LATE)]


def test_first_seen_after_the_deadline_is_overdue_at_once() -> None:
    _, states = seen(date(2024, 9, 2), cst(2024, 11, 1))
    assert states == [TrackState.PENDING, TrackState.OVERDUE]


def test_a_corrected_decision_date_moves_an_open_deadline() -> None:
    tracked, _ = seen(date(2025, 3, 3), cst(2025, 3, 3, 9))
    moved, _ = observe(
        tracked,
        decision_id=tracked.decision_id,
        kind="penalty",
        department_code="D",
        decision_date=date(2025, 3, 5),
        now=cst(2025, 3, 5, 9),
        calendar=CAL,
    )
    assert moved.deadline == date(2025, 3, 14)


@given(st.dates(date(2024, 1, 1), date(2026, 12, 20)), st.integers(0, 40 * 24))
def test_states_only_move_forward_and_each_transition_once(decided: date, hours: int) -> None:
    order = list(TrackState)
    tracked, _ = seen(decided, cst(decided.year, decided.month, decided.day, 9))
    now = cst(decided.year, decided.month, decided.day, 9) + timedelta(hours=hours)
    first, transitions = check(tracked, now=now, calendar=CAL)
    for t in transitions:
        assert t.from_state is not None and order.index(t.to_state) > order.index(t.from_state)
    assert check(first, now=now, calendar=CAL)[1] == []
    assert first.sequence == tracked.sequence + len(transitions)


def test_a_revoked_open_item_is_no_longer_chased() -> None:
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    withdrawn = revoke(tracked)
    assert next_alarm(withdrawn, CAL) is None
    assert check(withdrawn, now=cst(2025, 3, 1), calendar=CAL)[1] == []


def test_a_provisional_deadline_is_recomputed_when_the_year_arrives() -> None:
    from sgs.core.calendar import parse_arrangement, with_arrangements

    tracked, _ = seen(date(2026, 12, 28), cst(2026, 12, 28, 10))
    assert tracked.provisional and tracked.deadline == date(2027, 1, 6)  # Monday-Friday guess for 2027
    arrangement = parse_arrangement(
        "year: 2027\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n", "yaml"
    )
    known, _ = recompute(tracked, now=cst(2026, 12, 29, 10), calendar=with_arrangements([arrangement]))
    assert not known.provisional and known.deadline == date(2027, 1, 7)  # 元旦 2027-01-01 is off


def test_a_breach_of_a_guessed_deadline_is_undone_when_the_real_one_has_not_ended() -> None:
    """A hostile tester's find: overdue by the Monday-Friday guess (01-06), still overdue on 01-07 after the 2027
    arrangement moved the deadline to 01-07, and then "overdue → published_on_time"."""
    from sgs.core.calendar import parse_arrangement, with_arrangements

    tracked, _ = seen(date(2026, 12, 28), cst(2026, 12, 28, 10))
    overdue, _ = check(tracked, now=cst(2027, 1, 7, 0, 0, 1), calendar=CAL)
    assert overdue.state is TrackState.OVERDUE
    arrangement = parse_arrangement(
        "year: 2027\nholidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n", "yaml"
    )
    known, transitions = recompute(overdue, now=cst(2027, 1, 7, 0, 1), calendar=with_arrangements([arrangement]))
    assert [(t.from_state, t.to_state) for t in transitions] == [
        (TrackState.OVERDUE, TrackState.PENDING),
        (TrackState.PENDING, TrackState.AT_RISK),
    ]
    published, _ = publish(known, published_at=cst(2027, 1, 7, 9), calendar=CAL)
    assert published.state is TrackState.PUBLISHED_ON_TIME


def test_an_overdue_item_whose_date_was_corrected_later_is_still_published_late() -> None:
    tracked, _ = seen(date(2025, 3, 3), cst(2025, 3, 3, 9))
    overdue, _ = check(tracked, now=cst(2025, 3, 13, 0, 0, 1), calendar=CAL)
    assert overdue.state is TrackState.OVERDUE
    corrected, _ = again(overdue, date(2025, 3, 10), cst(2025, 3, 13, 9))
    assert corrected.state is TrackState.OVERDUE and corrected.deadline == date(2025, 3, 19)
    # What the department and the supervisors are told meanwhile: late, not "0 working days late".
    assert days_late_so_far(corrected.deadline, date(2025, 3, 13), CAL) == 1
    assert days_late_so_far(overdue.deadline, date(2025, 3, 17), CAL) == 3
    published, _ = publish(corrected, published_at=cst(2025, 3, 13, 10), calendar=CAL)
    assert published.state is TrackState.PUBLISHED_LATE and published.working_days_late == 1


def again(tracked: Tracked, decided: date, now: datetime, version: int = 0) -> tuple[Tracked, list[TrackState]]:
    moved, transitions = observe(
        tracked,
        decision_id=tracked.decision_id,
        kind="penalty",
        department_code="D",
        decision_date=decided,
        now=now,
        calendar=CAL,
        version=version,
    )
    return moved, [t.to_state for t in transitions]


def test_a_later_decision_date_takes_an_item_at_risk_back_to_pending() -> None:
    tracked, _ = seen(date(2025, 3, 3), cst(2025, 3, 3, 9))
    at_risk, _ = check(tracked, now=cst(2025, 3, 11, 9), calendar=CAL)
    assert at_risk.state is TrackState.AT_RISK
    corrected, states = again(at_risk, date(2025, 3, 10), cst(2025, 3, 11, 10))
    assert corrected.state is TrackState.PENDING and states == [TrackState.PENDING]
    assert corrected.deadline == date(2025, 3, 19) and corrected.sequence > at_risk.sequence


def test_every_change_of_an_item_is_a_new_version_of_its_deadlines_document() -> None:
    """The deadlines index takes a document only with a higher version: a revoke or a recomputed deadline that
    kept the old sequence would leave the dashboard showing the old state."""
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    withdrawn = revoke(tracked)
    assert withdrawn.sequence == tracked.sequence + 1 and revoke(withdrawn) == withdrawn


def test_a_withdrawn_item_sent_again_is_chased_again() -> None:
    tracked, _ = seen(date(2025, 1, 24), cst(2025, 1, 24, 10))
    withdrawn = revoke(tracked)
    chased, states = again(withdrawn, date(2025, 1, 24), cst(2025, 3, 1))
    assert not chased.revoked and states == [TrackState.OVERDUE]


def test_an_older_version_arriving_late_moves_nothing() -> None:
    """A hostile tester's finds: rejected versions are stored nowhere but here, so an older one sent last moved the
    deadline back (pending became overdue), and one older than a revoke brought the withdrawn item back."""
    tracked, _ = seen(date(2027, 1, 4), cst(2027, 1, 5, 9))
    newer, _ = again(tracked, date(2027, 1, 5), cst(2027, 1, 5, 10), version=3)
    older, states = again(newer, date(2026, 12, 25), cst(2027, 1, 7, 9), version=2)
    assert older == newer and states == []
    withdrawn = revoke(newer, 5)
    assert again(withdrawn, date(2027, 1, 5), cst(2027, 1, 7, 9), version=4)[0] == withdrawn
    chased, _ = again(withdrawn, date(2027, 1, 5), cst(2027, 1, 7, 9), version=6)
    assert not chased.revoked and chased.version == 6


def test_a_decision_withheld_in_time_and_published_when_the_rules_change_was_on_time() -> None:
    """A second hostile tester's find: published by `sgs rules apply` after the negative list had withheld it,
    it stayed `withdrawn` in the deadlines index and was counted late for the days the platform withheld it."""
    tracked, _ = seen(date(2025, 3, 3), cst(2025, 3, 3, 9))  # deadline 2025-03-12
    withheld = revoke(tracked, 1)
    published, transitions = publish(withheld, published_at=cst(2025, 3, 24, 10), calendar=CAL, withheld=True)
    assert published.state is TrackState.PUBLISHED_ON_TIME and not published.revoked
    assert published.working_days_late == 0 and [t.to_state for t in transitions] == [TrackState.PUBLISHED_ON_TIME]
    # Overdue before it was withheld: still a breach.
    overdue, _ = check(tracked, now=cst(2025, 3, 13, 0, 0, 1), calendar=CAL)
    late, _ = publish(revoke(overdue, 1), published_at=cst(2025, 3, 24, 10), calendar=CAL, withheld=True)
    assert late.state is TrackState.PUBLISHED_LATE and late.working_days_late == 8 and not late.revoked
