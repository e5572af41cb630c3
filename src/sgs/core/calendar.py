"""The working-day calendar: the State Council's holiday arrangements (放假调休安排) as data.

Built-in data comes from chinese-calendar (2004–2026). Operators add or replace a year with an arrangement
file, without a release — YAML or TOML, one year per file:

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:                      # days off, weekends inside a holiday included or not — either is fine
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 劳动节, from: 2027-05-01, to: 2027-05-05}
    makeup_days: [2027-02-07]      # weekend days made working days (调休上班)

A file for year Y replaces the built-in data for the dates of Y. Its dates lie in Y, or in December of Y-1
(the arrangement for 2018 put 元旦 on 2017-12-30…2018-01-01; the one for 2012 made 2011-12-31 a working day).
A year with no data counts Monday–Friday; `has_year` tells callers such dates are provisional.

`parse_arrangement` is pure; `load_calendar` reads files (the shell) and raises `CalendarFileError` naming
the file and the problem: a calendar that silently ignored an operator's file would compute wrong deadlines.
"""

from __future__ import annotations

import functools
import tomllib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

ArrangementFormat = Literal["yaml", "toml"]

_SUFFIXES: Mapping[str, ArrangementFormat] = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}
_LONGEST_HOLIDAY = 31  # days; a longer range is a typo in a month, not a holiday
# Working days are precomputed over this span so that deadline lookups are two array reads; dates outside
# it are still answered, day by day.
_SPAN_START = date(1990, 1, 1)
_SPAN_END_YEAR = 2100  # or 30 years past the last year with data, whichever is later


class CalendarFileError(ValueError):
    """An arrangement file that cannot be used; the message names the file and the problem."""

    def __init__(self, problem: str, path: Path | None = None) -> None:
        self.problem = problem
        self.path = path
        super().__init__(f"{path}: {problem}" if path is not None else problem)


@dataclass(frozen=True, slots=True)
class HolidayRange:
    name: str
    start: date
    end: date  # inclusive

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass(frozen=True, slots=True)
class Arrangement:
    """One year's holiday arrangement."""

    year: int
    source: str
    holidays: tuple[HolidayRange, ...]
    makeup_days: tuple[date, ...]


# --- parsing (pure) ---------------------------------------------------------------------------------------------


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so that 2027-02-30 is reported with its key, not as a crash."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _as_date(value: object, where: str) -> date:
    if isinstance(value, str):
        value = _from_text(value.strip())
    if isinstance(value, datetime):
        raise CalendarFileError(f"{where}: 应为日期（YYYY-MM-DD），不是日期时间 {value}")
    if isinstance(value, date):
        return value
    raise CalendarFileError(f"{where}: “{value}”不是有效日期（格式 YYYY-MM-DD）")


def _from_text(text: str) -> date | str:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def _in_scope(day: date, year: int, where: str) -> None:
    if day.year == year or (day.year == year - 1 and day.month == 12):
        return
    raise CalendarFileError(f"{where}: {day} 不属于{year}年的安排（只能是{year}年或{year - 1}年12月的日期）")


def _arrangement(data: object) -> Arrangement:
    if not isinstance(data, dict):
        raise CalendarFileError("文件内容应为一个映射（year, source, holidays, makeup_days）")
    unknown = sorted(set(data) - {"year", "source", "holidays", "makeup_days"})
    if unknown:
        raise CalendarFileError(f"未知的键 {', '.join(map(str, unknown))}（可用：year, source, holidays, makeup_days）")
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2200:
        raise CalendarFileError(f"year: 应为1900–2200之间的年份，实为“{year}”")
    source = data.get("source", "")
    if not isinstance(source, str):
        raise CalendarFileError("source: 应为文本（通知名称）")
    raw_holidays = data.get("holidays")
    if not isinstance(raw_holidays, list) or not raw_holidays:
        raise CalendarFileError("holidays: 应为非空列表，每项 {name, from, to}")
    holidays = tuple(_holiday(entry, year, f"holidays[{i}]") for i, entry in enumerate(raw_holidays))
    raw_makeup = data.get("makeup_days", [])
    if not isinstance(raw_makeup, list):
        raise CalendarFileError("makeup_days: 应为日期列表")
    off = {day for holiday in holidays for day in holiday.days()}
    makeup: list[date] = []
    for i, value in enumerate(raw_makeup):
        where = f"makeup_days[{i}]"
        day = _as_date(value, where)
        _in_scope(day, year, where)
        if day.weekday() < 5:
            raise CalendarFileError(f"{where}: {day} 本是工作日（星期{'一二三四五'[day.weekday()]}），无需调休上班")
        if day in off:
            raise CalendarFileError(f"{where}: {day} 同时列为放假日")
        makeup.append(day)
    return Arrangement(year, source, holidays, tuple(sorted(set(makeup))))


def _holiday(entry: object, year: int, where: str) -> HolidayRange:
    if not isinstance(entry, dict):
        raise CalendarFileError(f"{where}: 应为 {{name, from, to}}")
    unknown = sorted(set(entry) - {"name", "from", "to"})
    if unknown:
        raise CalendarFileError(f"{where}: 未知的键 {', '.join(map(str, unknown))}（可用：name, from, to）")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CalendarFileError(f"{where}.name: 应为节日名称")
    if "from" not in entry:
        raise CalendarFileError(f"{where}.from: 缺少开始日期")
    start = _as_date(entry["from"], f"{where}.from")
    end = _as_date(entry.get("to", entry["from"]), f"{where}.to")
    _in_scope(start, year, f"{where}.from")
    _in_scope(end, year, f"{where}.to")
    if end < start:
        raise CalendarFileError(f"{where}: 结束日期 {end} 早于开始日期 {start}")
    if (end - start).days >= _LONGEST_HOLIDAY:
        raise CalendarFileError(f"{where}: {start}…{end} 超过{_LONGEST_HOLIDAY}天，请检查日期")
    return HolidayRange(name.strip(), start, end)


def parse_arrangement(text: str, fmt: ArrangementFormat) -> Arrangement:
    """Parse one arrangement file's text; raises `CalendarFileError` (without a path) when it is unusable."""
    data: Any
    try:
        data = yaml.load(text, Loader=_YamlLoader) if fmt == "yaml" else tomllib.loads(text)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise CalendarFileError(f"无法解析{fmt.upper()}：{exc}") from exc
    return _arrangement(data)


# --- the calendar ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Which days are working days. Build with `default_calendar`, `load_calendar` or `with_arrangements`."""

    off_days: frozenset[date]  # holidays (weekends inside them included)
    makeup_days: frozenset[date]  # weekend days made working days
    sources: tuple[tuple[int, str], ...]  # (year with official data, where it came from), by year
    # Precomputed: the working days of the span as ordinals, and for each day of the span the number of
    # working days up to and including it (a prefix count): deadlines become two array reads, which the
    # validation hot path (≥ 50,000 records/s) needs. Dates outside the span are answered day by day.
    _years: Mapping[int, str] = field(init=False, repr=False, compare=False)
    _first_year: int | None = field(init=False, repr=False, compare=False)
    _span_start: int = field(init=False, repr=False, compare=False)
    _working: array[int] = field(init=False, repr=False, compare=False)
    _count_upto: array[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        years = dict(self.sources)
        start = _SPAN_START.toordinal()
        end = date(max([_SPAN_END_YEAR - 30, *years]) + 30, 12, 31).toordinal()
        off = {day.toordinal() for day in self.off_days}
        makeup = {day.toordinal() for day in self.makeup_days}
        working = array("l")
        count_upto = array("l")
        for ordinal in range(start, end + 1):
            # date.fromordinal(1) is a Monday, so (ordinal - 1) % 7 is the weekday.
            if ordinal in makeup or (ordinal not in off and (ordinal - 1) % 7 < 5):
                working.append(ordinal)
            count_upto.append(len(working))
        object.__setattr__(self, "_years", years)
        object.__setattr__(self, "_first_year", min(years, default=None))
        object.__setattr__(self, "_span_start", start)
        object.__setattr__(self, "_working", working)
        object.__setattr__(self, "_count_upto", count_upto)

    def _is_working(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        if day in self.off_days:
            return False
        return day.weekday() < 5

    def is_working_day(self, day: date) -> bool:
        return self._is_working(day)

    def is_makeup_day(self, day: date) -> bool:
        """A weekend day the arrangement made a working day (调休上班)."""
        return day in self.makeup_days

    def has_year(self, year: int) -> bool:
        """Whether the official arrangement for `year` is known (else: Monday–Friday, provisional)."""
        return year in self._years

    def years(self) -> frozenset[int]:
        return frozenset(self._years)

    def first_year(self) -> int | None:
        """The first year with an official arrangement: earlier years are counted Monday–Friday for good."""
        return self._first_year

    def source_of(self, year: int) -> str | None:
        return self._years.get(year)

    def _index(self, day: date) -> int | None:
        """Position of `day` in the precomputed span, or None outside it."""
        offset = day.toordinal() - self._span_start
        return offset if 0 <= offset < len(self._count_upto) else None

    def working_days_after(self, day: date, count: int) -> list[date]:
        """The first `count` working days after `day` (the day itself not counted)."""
        index = self._index(day)
        if index is not None:
            first = self._count_upto[index]
            if first + count <= len(self._working):
                return [date.fromordinal(o) for o in self._working[first : first + count]]
        found: list[date] = []
        current = day
        while len(found) < count:
            if current == date.max:
                # No day follows 9999-12-31: saturate rather than raise on an absurd decision date.
                return found + [date.max] * (count - len(found))
            current += timedelta(days=1)
            if self._is_working(current):
                found.append(current)
        return found

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n ≥ 1; the day itself not counted)."""
        index = self._index(day)
        if index is not None:
            position = self._count_upto[index] + n - 1
            if position < len(self._working):
                return date.fromordinal(self._working[position])
        return self.working_days_after(day, n)[-1]

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        return self.nth_working_day_after(day, 1)

    def on_or_next_working_day(self, day: date) -> date:
        return day if self._is_working(day) else self.next_working_day(day)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative (the same count) when end < start.

        So Friday → next Monday is 1, a day → itself is 0, and f(a, b) == -f(b, a).
        """
        if end < start:
            return -self.working_days_between(end, start)
        first, last = self._index(start), self._index(end)
        if first is not None and last is not None:
            return self._count_upto[last] - self._count_upto[first]
        # Outside the span: Monday–Friday in closed form, corrected by the listed days in the range.
        inside = range(start.toordinal() + 1, end.toordinal() + 1)
        weekdays = _weekdays_upto(end.toordinal()) - _weekdays_upto(start.toordinal())
        made_working = sum(1 for d in self.makeup_days if d.toordinal() in inside and d.weekday() >= 5)
        made_off = sum(1 for d in self.off_days if d.toordinal() in inside and d.weekday() < 5)
        return weekdays + made_working - made_off


def _weekdays_upto(ordinal: int) -> int:
    """Mondays to Fridays among ordinals 1..ordinal (ordinal 1, 0001-01-01, is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return 5 * weeks + min(rest, 5)


def _builtin_data() -> tuple[dict[date, bool], dict[int, str]]:
    """chinese-calendar's dates (True: working, False: off) and the years it covers."""
    import chinese_calendar

    days: dict[date, bool] = dict.fromkeys(chinese_calendar.holidays, False)
    days |= dict.fromkeys(chinese_calendar.workdays, True)
    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    label = f"chinese-calendar {chinese_calendar.__version__}"
    return days, dict.fromkeys(range(first, last + 1), label)


def with_arrangements(arrangements: Iterable[Arrangement], *, builtin: bool = True) -> WorkingCalendar:
    """A calendar from chinese-calendar's data (unless `builtin` is False), each arrangement replacing its
    year. Applied in year order, so a later notice's December entries override the earlier year's; two
    arrangements for one year: the last given wins (`load_calendar` refuses that case)."""
    ordered = sorted(arrangements, key=lambda a: a.year)
    replaced = {a.year for a in ordered}
    days, sources = _builtin_data() if builtin else ({}, {})
    days = {day: working for day, working in days.items() if day.year not in replaced}
    for arrangement in ordered:
        for holiday in arrangement.holidays:
            days |= dict.fromkeys(holiday.days(), False)
        days |= dict.fromkeys(arrangement.makeup_days, True)
        sources[arrangement.year] = arrangement.source or f"{arrangement.year}年放假安排文件"
    return WorkingCalendar(
        off_days=frozenset(day for day, working in days.items() if not working),
        makeup_days=frozenset(day for day, working in days.items() if working and day.weekday() >= 5),
        sources=tuple(sorted(sources.items())),
    )


@functools.cache
def default_calendar() -> WorkingCalendar:
    """chinese-calendar's data alone, built once per process."""
    return with_arrangements(())


# --- loading files (shell) -----------------------------------------------------------------------------------------


def arrangement_files(calendar_dir: Path) -> list[Path]:
    """The arrangement files in a directory (or the file itself), by name."""
    if calendar_dir.is_file():
        return [calendar_dir]
    if not calendar_dir.is_dir():
        raise CalendarFileError("日历目录不存在", calendar_dir)
    return sorted(p for p in calendar_dir.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES)


def read_arrangement(path: Path) -> Arrangement:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise CalendarFileError(f"不支持的文件类型（可用：{', '.join(_SUFFIXES)}）", path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarFileError(f"无法读取：{exc}", path) from exc
    try:
        return parse_arrangement(text, fmt)
    except CalendarFileError as exc:
        raise CalendarFileError(exc.problem, path) from exc


def load_calendar(calendar_dir: Path | None) -> WorkingCalendar:
    """The built-in calendar, extended by the arrangement files in `calendar_dir` (a directory or one file)."""
    if calendar_dir is None:
        return default_calendar()
    arrangements: list[Arrangement] = []
    seen: dict[int, Path] = {}
    for path in arrangement_files(calendar_dir):
        arrangement = read_arrangement(path)
        if arrangement.year in seen:
            raise CalendarFileError(f"{arrangement.year}年的安排在 {seen[arrangement.year]} 中已经给出", path)
        seen[arrangement.year] = path
        arrangements.append(arrangement)
    if not arrangements:
        return default_calendar()
    return with_arrangements(arrangements)
