"""The 7-working-day publication deadline (7天双公示) — the one function every deadline comes from.

Decisions go online within 7 working days of the decision. The starting day is not counted (民法典 art. 201),
so the deadline is the 7th working day after the decision date, whatever kind of day the decision was made
on; a record published by the end of that day (China Standard Time) is on time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sgs.core.calendar import WorkingCalendar

WORKING_DAYS = 7


@dataclass(frozen=True, slots=True)
class Deadline:
    date: dt.date
    # True when a day between the decision and the deadline lies in a year without an official arrangement
    # (counted Monday–Friday), or in the last week of a year whose next year's arrangement is not known yet (it
    # may move those days: the 2012 notice made 2011-12-31 a working day): the deadline must be recomputed when
    # that arrangement is loaded. Years before the calendar's first are counted Monday–Friday for good.
    provisional: bool


# The last days of December the next year's New Year arrangement may change (its weekend before 1 January).
_YEAR_END_FROM = 25


def counted_days(decision_date: dt.date, calendar: WorkingCalendar) -> list[dt.date]:
    """The working days counted towards the deadline, first to 7th (for `--explain` and the dashboard)."""
    return calendar.working_days_after(decision_date, WORKING_DAYS)


def deadline(decision_date: dt.date, calendar: WorkingCalendar) -> Deadline:
    """The last day a decision made on `decision_date` may be published on time."""
    last = calendar.nth_working_day_after(decision_date, WORKING_DAYS)
    # Every day from the day after the decision to the deadline was judged working or not: check their years.
    first = decision_date if decision_date == dt.date.max else decision_date + dt.timedelta(days=1)
    known_from = calendar.first_year() or 1

    def awaited(year: int) -> bool:  # an arrangement that may still come
        return year >= known_from and not calendar.has_year(year)

    provisional = any(awaited(year) for year in range(first.year, last.year + 1))
    if not provisional:
        provisional = any(
            awaited(year + 1) and last >= dt.date(year, 12, _YEAR_END_FROM) and first <= dt.date(year, 12, 31)
            for year in range(first.year, min(last.year, dt.MAXYEAR - 1) + 1)
        )
    return Deadline(last, provisional)


def is_at_risk(deadline: dt.date, today: dt.date, calendar: WorkingCalendar) -> bool:
    """A pending item is at risk when its deadline is today or the next working day.

    A deadline already past is not "at risk" but overdue — a different state of the tracker.
    """
    return today <= deadline <= calendar.next_working_day(today)


def working_days_late(deadline: dt.date, published_on: dt.date, calendar: WorkingCalendar) -> int:
    """How many working days after the deadline a record was published; 0 when on time.

    A publication on a non-working day counts as if made on the next working day, so publishing on the
    Saturday after a Friday deadline is 1 day late (as is the Monday) — never "late by 0 working days".
    """
    if published_on <= deadline:
        return 0
    return calendar.working_days_between(deadline, calendar.on_or_next_working_day(published_on))
