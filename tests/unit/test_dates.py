"""Dates in the shapes departments send them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.dates import check_date, parse_date

MARCH_5 = date(2024, 3, 5)


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05",
        "2024-3-5",
        "2024/03/05",
        "2024/3/5",
        "2024.03.05",
        "2024.3.5",
        "20240305",
        "2024年3月5日",
        "2024年03月05日",
        "2024 年 3 月 5 日",
        "2024年3月5号",
        "２０２４－０３－０５",
        "２０２４年３月５日",
        "２０２４／３／５",
        "  2024-03-05\t",
        "2024-03-05T10:30:00",
        "2024-03-05 10:30",
        "2024-03-05T23:59:59.999",
        "2024-03-05T10:30:00+08:00",
        "2024-03-04T16:00:00Z",  # midnight in Beijing
        "2024-03-05T15:59:59Z",
        "2024/3/5 8:00:00",
        "二〇二四年三月五日",
        "45356",
        "45356.0",
        "45356.99",
    ],
)
def test_accepted_shapes(text: str) -> None:
    assert parse_date(text) == MARCH_5, check_date(text)


def test_objects_and_serials() -> None:
    assert parse_date(MARCH_5) == MARCH_5
    assert parse_date(datetime(2024, 3, 5, 23, 0)) == MARCH_5
    assert parse_date(datetime(2024, 3, 4, 16, 0, tzinfo=UTC)) == MARCH_5
    assert parse_date(45356) == MARCH_5
    assert parse_date(45356.5) == MARCH_5
    assert parse_date(20000) == date(1954, 10, 3)
    assert parse_date(80000) == date(2119, 1, 11)
    assert parse_date(60) == parse_date(19999) is None  # outside the plausible window


def test_offsets_convert_to_china_time() -> None:
    assert parse_date("2024-03-04T15:59:59Z") == date(2024, 3, 4)
    assert parse_date("2024-03-05T01:00:00+09:00") == date(2024, 3, 5)
    assert parse_date("2024-03-04T12:00:00-05:00") == date(2024, 3, 5)
    tz = timezone(timedelta(hours=-10))
    assert parse_date(datetime(2024, 3, 4, 10, 0, tzinfo=tz)) == MARCH_5


@pytest.mark.parametrize(
    ("value", "reason_code"),
    [
        ("2024-02-30", "date.invalid"),
        ("20240230", "date.invalid"),
        ("2023年2月29日", "date.invalid"),
        ("2024-13-01", "date.invalid"),
        ("2024-00-10", "date.invalid"),
        ("二〇二四年二月三十日", "date.invalid"),
        ("2024-03-05 25:00", "date.invalid"),
        ("", "date.empty"),
        ("   ", "date.empty"),
        (None, "date.empty"),
        ("abc", "date.shape"),
        ("2024-03", "date.shape"),
        ("2024-03-05x", "date.shape"),
        ("2024-03/05", "date.shape"),
        ("240305", "date.shape"),
        ("12345", "date.serial_range"),
        ("99999", "date.serial_range"),
        (19999, "date.serial_range"),
        (80001, "date.serial_range"),
        (-1, "date.serial_range"),
        (float("nan"), "date.shape"),
        (float("inf"), "date.shape"),
        (True, "date.shape"),
    ],
)
def test_rejected(value: object, reason_code: str) -> None:
    result = check_date(value)  # type: ignore[arg-type]
    assert result.date is None
    assert result.reason_code == reason_code
    assert result.reason


def test_reason_names_the_impossible_day() -> None:
    assert check_date("2024-02-30").reason == "2024-02-30不是有效日期（2024年2月没有30日）"


@settings(max_examples=200)
@given(st.dates(date(1900, 1, 1), date(2199, 12, 31)))
def test_round_trip(day: date) -> None:
    for text in (
        day.isoformat(),
        day.strftime("%Y/%m/%d"),
        f"{day.year}/{day.month}/{day.day}",
        day.strftime("%Y.%m.%d"),
        day.strftime("%Y%m%d"),
        f"{day.year}年{day.month}月{day.day}日",
        day.isoformat().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789-"}),
        f"{day.isoformat()}T12:00:00+08:00",
    ):
        assert parse_date(text) == day, text


@settings(max_examples=200)
@given(st.integers(20000, 80000))
def test_excel_serials(serial: int) -> None:
    day = date(1899, 12, 30) + timedelta(days=serial)
    assert parse_date(serial) == parse_date(str(serial)) == parse_date(float(serial) + 0.25) == day


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats()))
def test_never_raises(value: str | int | float) -> None:
    result = check_date(value)
    assert (result.date is None) == (result.reason_code is not None)
