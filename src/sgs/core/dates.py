"""Calendar dates in the shapes departments send them, read as dates in China Standard Time.

Accepted: 2024-03-05, 2024/03/05, 2024.03.05, 20240305, 2024年3月5日 (zero padding optional, full-width
digits, surrounding spaces), 二〇二四年三月五日, an ISO datetime (its date in China Standard Time when it
carries an offset; its date part when it does not), date/datetime objects, and Excel serial numbers 20000–80000
(1954-10-03 … 2119-01-11) as int, float or digit string. Anything else, and impossible dates like 2024-02-30,
is not a date.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from sgs.core.text import to_halfwidth

# China has kept UTC+8 without daylight saving since 1992: a fixed offset needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "CST")

# Excel's day 0 is 1899-12-30 once its fictitious 1900-02-29 is accounted for; serials outside this window are
# far more likely amounts or ids than dates.
_EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_SERIAL_MIN = 20000
EXCEL_SERIAL_MAX = 80000

_SEPARATED = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_CHINESE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_TIME = re.compile(
    r"(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_CHINESE_DIGITS = {"〇": "0", "○": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4"}
_CHINESE_DIGITS |= {"五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_CHINESE_NUMBER = re.compile(r"(?:([一二三])?(十))?([一二三四五六七八九])?")
_CHINESE_FULL = re.compile(
    r"([〇○零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)


@dataclass(frozen=True, slots=True)
class DateCheck:
    """A date read from input: `date` when it is one, else a reason code and a Chinese reason."""

    date: date | None
    reason_code: str | None = None
    reason: str | None = None


def _invalid(reason_code: str, reason: str) -> DateCheck:
    return DateCheck(None, reason_code, reason)


def _ymd(year: str, month: str, day: str, shown: str) -> DateCheck:
    try:
        return DateCheck(date(int(year), int(month), int(day)))
    except ValueError:
        return DateCheck(None, "date.invalid", f"{shown}不是有效日期（{int(year)}年{int(month)}月没有{int(day)}日）")


def _excel(serial: float, shown: str) -> DateCheck:
    if not math.isfinite(serial):
        return DateCheck(None, "date.shape", f"{shown}不是日期")
    # The fraction is the time of day: the window applies to the day number.
    if not EXCEL_SERIAL_MIN <= math.floor(serial) <= EXCEL_SERIAL_MAX:
        return DateCheck(
            None,
            "date.serial_range",
            f"{shown}不像Excel日期序号（可接受{EXCEL_SERIAL_MIN}–{EXCEL_SERIAL_MAX}，即1954–2119年）",
        )
    return DateCheck(_EXCEL_EPOCH + timedelta(days=math.floor(serial)))


def _chinese_number(text: str) -> int | None:
    """一 … 三十一 (the numbers a month or day can be) to int."""
    match = _CHINESE_NUMBER.fullmatch(text)
    if not match or not text:
        return None
    tens_digit, ten, units = match.groups()
    tens = int(_CHINESE_DIGITS[tens_digit]) if tens_digit else (1 if ten else 0)
    return tens * 10 + (int(_CHINESE_DIGITS[units]) if units else 0)


def _with_time(day: DateCheck, rest: str, shown: str) -> DateCheck:
    """Apply a trailing time of day: it may move the date when it carries a UTC offset."""
    if not rest:
        return day
    time = _TIME.fullmatch(rest)
    if time is None:
        return DateCheck(None, "date.shape", f"无法识别的日期“{shown}”")
    if day.date is None:
        return day
    hour, minute, second, offset = time.groups()
    if int(hour) > 23 or int(minute) > 59 or (second is not None and int(second) > 59):
        return DateCheck(None, "date.invalid", f"{shown}中的时间无效")
    if offset is None:
        return day
    if offset.upper() == "Z":
        tz = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime(day.date.year, day.date.month, day.date.day, int(hour), int(minute), tzinfo=tz)
    return DateCheck(moment.astimezone(CHINA_TZ).date())


def check_date(value: str | int | float | date | None) -> DateCheck:
    """Read a date; never raises."""
    if value is None:
        return _invalid("date.empty", "日期为空")
    if isinstance(value, datetime):
        moment = value.astimezone(CHINA_TZ) if value.tzinfo is not None else value
        return DateCheck(moment.date())
    if isinstance(value, date):
        return DateCheck(value)
    if isinstance(value, bool):
        return _invalid("date.shape", f"{value}不是日期")
    if isinstance(value, int | float):
        return _excel(float(value), str(value))
    if not isinstance(value, str):
        return _invalid("date.shape", "不是日期")
    text = to_halfwidth(value).strip()
    if not text:
        return _invalid("date.empty", "日期为空")
    shown = value.strip()
    for pattern in (_SEPARATED, _CHINESE):
        match = pattern.match(text)
        if match:
            groups = match.groups()
            year, month, day = (groups[0], groups[2], groups[3]) if pattern is _SEPARATED else groups
            return _with_time(_ymd(year, month, day, shown), text[match.end() :], shown)
    match = _COMPACT.fullmatch(text)
    if match:
        return _ymd(match[1], match[2], match[3], shown)
    if _SERIAL.fullmatch(text):
        return _excel(float(text), shown)
    match = _CHINESE_FULL.fullmatch(text.replace(" ", ""))
    if match:
        year = "".join(_CHINESE_DIGITS[ch] for ch in match.group(1))
        month, day = _chinese_number(match.group(2)), _chinese_number(match.group(3))
        if month is None or day is None:
            return _invalid("date.shape", f"无法识别的日期“{shown}”")
        return _ymd(year, str(month), str(day), shown)
    return _invalid("date.shape", f"无法识别的日期“{shown}”")


def parse_date(value: str | int | float | date | None) -> date | None:
    """The date `value` denotes, or None when it is not one (see the module doc for the shapes)."""
    return check_date(value).date


def beijing_time(value: object) -> str:
    """A stored time (ISO 8601; one without an offset is UTC) as people here read times: Beijing time, to the
    second; anything else as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")
