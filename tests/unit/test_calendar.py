"""The working-day calendar: built-in data, arrangement files, and counting."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.calendar import (
    CalendarFileError,
    default_calendar,
    load_calendar,
    parse_arrangement,
    with_arrangements,
)

CAL = default_calendar()

YAML_2027 = """\
year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知（测试）
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 春节, from: 2027-02-08, to: 2027-02-14}
  - name: 国庆节
    from: "2027-10-01"
    to: "2027-10-07"
makeup_days: [2027-02-07, 2027-02-20, 2027-10-09]
"""

TOML_2027 = """\
year = 2027
source = "test"
makeup_days = [2027-02-07]

[[holidays]]
name = "春节"
from = 2027-02-08
to = 2027-02-14
"""


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_builtin_matches_chinese_calendar_everywhere() -> None:
    for day in days(date(2004, 1, 1), date(2026, 12, 31)):
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_years() -> None:
    assert CAL.years() == frozenset(range(2004, 2027))
    assert CAL.has_year(2024) and CAL.has_year(2026)
    assert not CAL.has_year(2027) and not CAL.has_year(2003)
    assert (CAL.source_of(2025) or "").startswith("chinese-calendar")
    assert CAL.source_of(2027) is None


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()


def test_makeup_days() -> None:
    assert CAL.is_makeup_day(date(2025, 1, 26)) and CAL.is_working_day(date(2025, 1, 26))
    assert not CAL.is_makeup_day(date(2025, 1, 27))
    assert not CAL.is_working_day(date(2025, 1, 28))


def test_year_without_data_is_monday_to_friday() -> None:
    for day in days(date(2027, 1, 1), date(2027, 12, 31)):
        assert CAL.is_working_day(day) == (day.weekday() < 5)
    assert CAL.is_working_day(date(2003, 10, 1))  # before the data: a Wednesday is a Wednesday


def test_next_working_day() -> None:
    assert CAL.next_working_day(date(2025, 1, 24)) == date(2025, 1, 26)
    assert CAL.next_working_day(date(2025, 1, 27)) == date(2025, 2, 5)
    assert CAL.next_working_day(date(2024, 12, 31)) == date(2025, 1, 2)
    assert CAL.next_working_day(date(2027, 1, 1)) == date(2027, 1, 4)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2025, 1, 24), date(2025, 1, 24)) == 0
    assert CAL.working_days_between(date(2025, 1, 24), date(2025, 2, 10)) == 7
    assert CAL.working_days_between(date(2025, 2, 10), date(2025, 1, 24)) == -7
    assert CAL.working_days_between(date(2025, 1, 27), date(2025, 2, 4)) == 0  # holiday only
    assert CAL.working_days_between(date(2025, 1, 31), date(2025, 2, 5)) == 1


def naive_between(start: date, end: date) -> int:
    sign = 1 if end >= start else -1
    low, high = min(start, end), max(start, end)
    return sign * sum(1 for d in days(low + timedelta(days=1), high) if CAL.is_working_day(d))


@settings(max_examples=200)
@given(st.dates(date(1985, 1, 1), date(2105, 12, 31)), st.integers(-400, 400))
def test_between_matches_naive_count(start: date, offset: int) -> None:
    end = start + timedelta(days=offset)
    assert CAL.working_days_between(start, end) == naive_between(start, end)


@settings(max_examples=200)
@given(st.dates(date(1985, 1, 1), date(2105, 12, 31)), st.integers(1, 30))
def test_nth_working_day_matches_naive(start: date, n: int) -> None:
    found: list[date] = []
    current = start
    while len(found) < n:
        current += timedelta(days=1)
        if CAL.is_working_day(current):
            found.append(current)
    assert CAL.working_days_after(start, n) == found
    assert CAL.nth_working_day_after(start, n) == found[-1]


def test_far_outside_the_precomputed_span() -> None:
    assert CAL.nth_working_day_after(date(2500, 1, 1), 7) == date(2500, 1, 12)  # Friday 2500-01-01
    assert CAL.working_days_between(date(1980, 1, 4), date(1980, 1, 7)) == 1
    assert CAL.working_days_after(date(9999, 12, 1), 3) == [date(9999, 12, 2), date(9999, 12, 3), date(9999, 12, 6)]


# --- arrangement files ------------------------------------------------------------------------------------------


def test_parse_yaml_and_toml() -> None:
    a = parse_arrangement(YAML_2027, "yaml")
    assert a.year == 2027 and a.source.startswith("国务院办公厅")
    assert [h.name for h in a.holidays] == ["元旦", "春节", "国庆节"]
    assert a.holidays[2].start == date(2027, 10, 1)  # quoted dates are read too
    assert a.makeup_days == (date(2027, 2, 7), date(2027, 2, 20), date(2027, 10, 9))
    b = parse_arrangement(TOML_2027, "toml")
    assert b.year == 2027 and b.holidays[0].end == date(2027, 2, 14)


def test_arrangement_extends_the_calendar() -> None:
    cal = with_arrangements([parse_arrangement(YAML_2027, "yaml")])
    assert cal.has_year(2027) and cal.has_year(2026)
    assert not cal.is_working_day(date(2027, 2, 8))  # Monday, holiday
    assert cal.is_working_day(date(2027, 2, 7)) and cal.is_makeup_day(date(2027, 2, 7))
    assert not cal.is_working_day(date(2027, 2, 6))  # an ordinary Saturday
    assert cal.is_working_day(date(2027, 3, 1))
    # the built-in years are untouched
    for day in days(date(2026, 1, 1), date(2026, 12, 31)):
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day)


def test_arrangement_replaces_a_builtin_year() -> None:
    replacement = parse_arrangement(
        "year: 2025\nholidays: [{name: 国庆节, from: 2025-10-01, to: 2025-10-03}]\n", "yaml"
    )
    cal = with_arrangements([replacement])
    assert cal.is_working_day(date(2025, 1, 28))  # the built-in 春节 is gone
    assert not cal.is_working_day(date(2025, 1, 26))  # and so is its makeup Sunday
    assert not cal.is_working_day(date(2025, 10, 2))
    assert cal.is_working_day(date(2025, 10, 6))
    assert cal.source_of(2025) == "2025年放假安排文件"


def test_previous_december_dates_are_allowed() -> None:
    text = "year: 2030\nholidays: [{name: 元旦, from: 2029-12-30, to: 2030-01-01}]\nmakeup_days: [2029-12-29]\n"
    cal = with_arrangements([parse_arrangement(text, "yaml")])
    assert not cal.is_working_day(date(2029, 12, 31))  # Monday, holiday
    assert cal.is_working_day(date(2029, 12, 29))  # Saturday, makeup


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("year: [", "无法解析YAML"),
        ("- 1\n- 2\n", "映射"),
        ("year: 2027\nholiday: []\n", "未知的键 holiday"),
        ("year: twenty\nholidays: [{name: a, from: 2027-01-01}]\n", "year"),
        ("year: true\nholidays: [{name: a, from: 2027-01-01}]\n", "year"),
        ("holidays: [{name: a, from: 2027-01-01}]\n", "year"),
        ("year: 2027\n", "holidays"),
        ("year: 2027\nholidays: []\n", "holidays"),
        ("year: 2027\nholidays: [2027-01-01]\n", "holidays[0]"),
        ("year: 2027\nholidays: [{from: 2027-01-01}]\n", "holidays[0].name"),
        ("year: 2027\nholidays: [{name: a}]\n", "holidays[0].from"),
        ("year: 2027\nholidays: [{name: a, from: 2027-02-30}]\n", "holidays[0].from"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-01, till: 2027-01-02}]\n", "till"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-05, to: 2027-01-01}]\n", "早于"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-01, to: 2027-03-01}]\n", "超过31天"),
        ("year: 2027\nholidays: [{name: a, from: 2028-01-01}]\n", "不属于2027年"),
        ("year: 2027\nholidays: [{name: a, from: 2026-11-30}]\n", "不属于2027年"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-01}]\nmakeup_days: 2027-01-09\n", "makeup_days"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-01}]\nmakeup_days: [2027-01-08]\n", "本是工作日"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-01, to: 2027-01-10}]\nmakeup_days: [2027-01-09]\n", "同时"),
        ("year: 2027\nsource: 1\nholidays: [{name: a, from: 2027-01-01}]\n", "source"),
        ("year: 2027\nholidays: [{name: a, from: 2027-01-01 10:00:00}]\n", "日期时间"),
    ],
)
def test_bad_arrangements(text: str, fragment: str) -> None:
    with pytest.raises(CalendarFileError) as info:
        parse_arrangement(text, "yaml")
    assert fragment in str(info.value)


def test_bad_toml() -> None:
    with pytest.raises(CalendarFileError, match="无法解析TOML"):
        parse_arrangement("year = ", "toml")


# --- loading (shell) ------------------------------------------------------------------------------------------------


def test_load_none_is_the_default() -> None:
    assert load_calendar(None) is default_calendar()


def test_load_directory(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(YAML_2027, encoding="utf-8")
    (tmp_path / "2028.toml").write_text(TOML_2027.replace("2027", "2028").replace("2028-02-07", "2028-02-05"))
    (tmp_path / "notes.txt").write_text("ignored")
    cal = load_calendar(tmp_path)
    assert cal.years() >= {2026, 2027, 2028}
    assert not cal.is_working_day(date(2028, 2, 8))


def test_load_single_file(tmp_path: Path) -> None:
    path = tmp_path / "2027.yml"
    path.write_text(YAML_2027, encoding="utf-8")
    assert load_calendar(path).has_year(2027)


def test_empty_directory_is_the_default(tmp_path: Path) -> None:
    assert load_calendar(tmp_path) is default_calendar()


def test_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "2027.yaml"
    bad.write_text("year: 2027\nholidays: []\n", encoding="utf-8")
    with pytest.raises(CalendarFileError) as info:
        load_calendar(tmp_path)
    assert info.value.path == bad
    assert str(info.value).startswith(str(bad))


def test_duplicate_year_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(YAML_2027, encoding="utf-8")
    (tmp_path / "b.toml").write_text(TOML_2027, encoding="utf-8")
    with pytest.raises(CalendarFileError) as info:
        load_calendar(tmp_path)
    assert "a.yaml" in str(info.value) and "b.toml" in str(info.value)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match="不存在"):
        load_calendar(tmp_path / "nope")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "2027.yaml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CalendarFileError, match="无法读取"):
        load_calendar(path)


def test_unsupported_single_file(tmp_path: Path) -> None:
    path = tmp_path / "2027.json"
    path.write_text("{}")
    with pytest.raises(CalendarFileError, match="不支持"):
        load_calendar(path)


def test_extreme_dates_do_not_raise() -> None:
    assert CAL.working_days_after(date(9999, 12, 30), 3) == [date(9999, 12, 31), date.max, date.max]
    assert CAL.nth_working_day_after(date.max, 7) == date.max
    assert CAL.working_days_between(date.min, date.max) == CAL.working_days_between(date.min, date(9999, 12, 31))
    # 0001-01-01 … 9999-12-31: Monday–Friday, minus holidays on weekdays, plus makeup weekends.
    total = CAL.working_days_between(date.min, date.max)
    weekdays = sum(1 for o in range(2, date.max.toordinal() + 1) if (o - 1) % 7 < 5)
    off = sum(1 for d in CAL.off_days if d.weekday() < 5)
    assert total == weekdays - off + len(CAL.makeup_days)


@settings(max_examples=100)
@given(st.dates(date(1, 1, 1), date(9999, 12, 31)), st.dates(date(1, 1, 1), date(9999, 12, 31)))
def test_between_is_additive(a: date, b: date) -> None:
    middle = date(2025, 1, 24)
    assert CAL.working_days_between(a, b) == CAL.working_days_between(a, middle) + CAL.working_days_between(middle, b)
