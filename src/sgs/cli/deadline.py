"""`sgs deadline`: the 7-working-day publication deadline of decision dates, with the days counted."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from sgs.config import Settings
from sgs.core.calendar import CalendarFileError, WorkingCalendar, load_calendar
from sgs.core.dates import check_date
from sgs.core.deadline import counted_days
from sgs.core.deadline import deadline as compute_deadline

_WEEKDAYS = "一二三四五六日"


def _cell(text: str) -> str:
    return " ".join(text.splitlines()).replace("\t", " ")


def _explain(decision_date: date, calendar: WorkingCalendar) -> list[str]:
    lines = []
    for number, counted in enumerate(counted_days(decision_date, calendar), start=1):
        mark = " 调休上班" if calendar.is_makeup_day(counted) else ""
        unofficial = "" if calendar.has_year(counted.year) else f" （{counted.year}年无放假安排，按周一至周五计）"
        lines.append(f"    {number}  {counted.isoformat()} 星期{_WEEKDAYS[counted.weekday()]}{mark}{unofficial}")
    return lines


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("dates", nargs=-1, required=True, metavar="DATE...")
@click.option("--explain", is_flag=True, help="列出计入的7个工作日 (list the working days counted).")
@click.option(
    "--calendar-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="放假安排文件目录或文件，默认取 SGS_CALENDAR_DIR (arrangement files; default: $SGS_CALENDAR_DIR).",
)
def deadline(dates: tuple[str, ...], explain: bool, calendar_dir: Path | None) -> None:
    """计算7个工作日公示期限：每个决定日期输出一行 日期<TAB>截止日期[<TAB>provisional]。

    决定当日不计入，第7个工作日为截止日（按国务院放假调休安排）；某年尚无放假安排时按周一至周五
    计算并标记 provisional。日期可写作 2024-03-05、2024/03/05、20240305、2024年3月5日 或Excel序号；
    DATE 为 "-" 时从标准输入逐行读取。无效日期输出 日期<TAB>invalid<TAB>原因，退出码为1。

    The publication deadline of each decision date: the 7th working day after it. "provisional" marks a
    deadline counted Monday–Friday because a year's holiday arrangement is not loaded yet.
    """
    directory = calendar_dir if calendar_dir is not None else Settings.from_env().calendar_dir
    try:
        calendar = load_calendar(directory)
    except CalendarFileError as exc:
        raise click.ClickException(f"放假安排文件有误 (bad arrangement file): {exc}") from exc
    texts: list[str] = []
    for argument in dates:
        if argument == "-":
            texts += [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        else:
            texts.append(argument)
    all_valid = True
    for text in texts:
        parsed = check_date(text)
        if parsed.date is None:
            all_valid = False
            click.echo(f"{_cell(text)}\tinvalid\t{parsed.reason_code} {_cell(parsed.reason or '')}")
            continue
        result = compute_deadline(parsed.date, calendar)
        suffix = "\tprovisional" if result.provisional else ""
        click.echo(f"{_cell(text)}\t{result.date.isoformat()}{suffix}")
        if explain:
            for line in _explain(parsed.date, calendar):
                click.echo(line)
    sys.exit(0 if all_valid else 1)
