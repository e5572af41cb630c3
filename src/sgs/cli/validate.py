"""`sgs validate FILE`: check a department's file against the national standard without publishing it."""

from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from sgs.cli.options import validation_options
from sgs.config import Settings
from sgs.connectors.importer import NO_ROWS, rows_with_kind
from sgs.connectors.templates import Row, TemplateError
from sgs.core import validate as core
from sgs.core.calendar import CalendarFileError, WorkingCalendar, load_calendar
from sgs.core.dates import CHINA_TZ
from sgs.core.fields import Kind, kind_table
from sgs.core.problems import Problem

EXIT_VALID, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2
TOP_CODES = 10


@dataclass(frozen=True, slots=True)
class Outcome:
    row: int
    decision_id: str | None
    problems: tuple[Problem, ...]


def _today(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return datetime.now(CHINA_TZ).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"应为 YYYY-MM-DD：{value}") from exc


def _fail(message: str) -> NoReturn:
    click.echo(f"错误：{message}", err=True)
    sys.exit(EXIT_UNUSABLE)


def _label(kind: Kind, field: str) -> str:
    spec = kind_table(kind).by_name.get(field)
    if spec is None:
        return field or "（整条记录）"
    return f"{spec.zh}（{spec.name}）"


def _problem_json(kind: Kind, problem: Problem) -> dict[str, str]:
    spec = kind_table(kind).by_name.get(problem.field)
    return problem.as_dict() | {"field_zh": spec.zh if spec is not None else ""}


def _report(kind: Kind, outcome: Outcome, as_json: bool) -> None:
    if as_json:
        record = {
            "row": outcome.row,
            "decision_id": outcome.decision_id,
            "problems": [_problem_json(kind, p) for p in outcome.problems],
        }
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    identity = f"  {outcome.decision_id}" if outcome.decision_id else ""
    click.echo(f"第{outcome.row}行{identity}")
    for problem in outcome.problems:
        click.echo(f"  {_label(kind, problem.field)}  {problem.code}  {problem.message}")


def _progress(stack: ExitStack, enabled: bool) -> Any:
    """A rich progress display on stderr (a TTY only); None otherwise."""
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("已校验 {task.completed} 条"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    stack.enter_context(progress)
    return progress


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--kind", type=click.Choice(["licence", "penalty"]), help="行政许可 licence / 行政处罚 penalty；缺省时按表头判断。"
)
@click.option("--json", "as_json", is_flag=True, help="每条无效记录输出一行JSON，最后一行为汇总 (JSON lines).")
@click.option("--today", callback=_today, metavar="YYYY-MM-DD", help="校验所用的“今天”（缺省：北京时间今天）。")
@click.option("--strict", is_flag=True, help="无法识别的列也算作问题 (unknown columns are problems).")
def validate(file: Path, kind: Kind | None, as_json: bool, today: date, strict: bool) -> None:
    """校验文件（JSON lines、CSV、XLSX）是否符合双公示数据标准，不发布。

    Validate a file against the national standard without publishing: a report per invalid record (row,
    field, problem code, message) and a summary. Exit status: 0 all valid, 1 some invalid, 2 unusable input
    (unreadable file, unknown kind).
    """
    try:
        calendar = load_calendar(Settings.from_env().calendar_dir)
    except (CalendarFileError, ValueError) as exc:
        _fail(f"工作日历无法加载：{exc}")
    try:
        found_kind, rows = rows_with_kind(file, kind)
    except TemplateError as exc:
        _fail(str(exc))
    if found_kind is None:
        _fail("无法从表头判断是行政许可还是行政处罚，请用 --kind licence 或 --kind penalty 指定")
    options = validation_options(Settings.from_env(), strict=strict)
    counts: Counter[str] = Counter()
    unknown: dict[str, None] = {}
    read = invalid = 0
    with ExitStack() as stack:
        progress = _progress(stack, sys.stderr.isatty())
        task = progress.add_task("validate") if progress is not None else None
        try:
            for row in rows:
                read += 1
                outcome = _check(found_kind, row, today, calendar, options, unknown)
                if outcome.problems:
                    invalid += 1
                    counts.update(p.code for p in outcome.problems)
                    _report(found_kind, outcome, as_json)
                if progress is not None:
                    progress.advance(task)
        except TemplateError as exc:
            _fail(f"第{read + 1}条记录附近：{exc}")
    if read == 0:
        _fail(NO_ROWS)
    _summary(found_kind, read, invalid, counts, list(unknown), as_json)
    sys.exit(EXIT_INVALID if invalid else EXIT_VALID)


def _check(
    kind: Kind,
    row: Row,
    today: date,
    calendar: WorkingCalendar,
    options: core.ValidationOptions,
    unknown: dict[str, None],
) -> Outcome:
    if row.problems and not row.values:  # the row could not be read: nothing to validate
        return Outcome(row.number, None, row.problems)
    result = core.validate(kind, row.values, today=today, calendar=calendar, options=options)
    unknown.update(dict.fromkeys(result.unknown_fields))
    return Outcome(row.number, result.decision_id, row.problems + result.problems)


def _summary(kind: Kind, read: int, invalid: int, counts: Counter[str], unknown: list[str], as_json: bool) -> None:
    top = counts.most_common(TOP_CODES)
    if as_json:
        summary = {
            "kind": kind,
            "records": read,
            "valid": read - invalid,
            "invalid": invalid,
            "problem_codes": dict(top),
            "unknown_fields": unknown,
        }
        click.echo(json.dumps({"summary": summary}, ensure_ascii=False))
        return
    click.echo("")
    click.echo(f"{kind_table(kind).zh}：共读取 {read} 条记录，有效 {read - invalid} 条，无效 {invalid} 条")
    if top:
        click.echo("主要问题：")
        for code, count in top:
            click.echo(f"  {code}  {count}")
    if unknown:
        click.echo(f"未识别的列（未校验）：{'、'.join(unknown)}")
