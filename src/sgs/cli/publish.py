"""`sgs publish FILE...`: a department clerk publishes national-standard template files onto the platform."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import click

from sgs.cli.options import unified_code, validation_options
from sgs.config import Settings
from sgs.connectors.importer import ImportSummary, import_file
from sgs.connectors.templates import TemplateError
from sgs.core.fields import Kind, kind_table
from sgs.core.problem_labels import problem_label

EXIT_ALL_PUBLISHED, EXIT_SOME_NOT_PUBLISHED, EXIT_UNUSABLE = 0, 1, 2
BROKER_TIMEOUT_S = 10
MAX_DEFAULT_PROCESSES = 4  # one process reads and produces; past about two checkers it is the bottleneck


def default_processes() -> int:
    """The CPUs this process may run on (all of them where that cannot be asked), at most MAX_DEFAULT_PROCESSES."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(usable, MAX_DEFAULT_PROCESSES)


def _broker_reachable(settings: Settings) -> str | None:
    """None when the broker answers and has the platform's submissions topic; else why not (said before any
    row is read: a wrong SGS_TOPIC_PREFIX would have the broker create a topic no worker reads)."""
    from confluent_kafka.admin import AdminClient

    from sgs.streams.topics import Topics

    try:
        metadata = AdminClient({"bootstrap.servers": settings.kafka_servers}).list_topics(timeout=BROKER_TIMEOUT_S)
    except Exception as exc:
        return f"无法连接 Kafka（{settings.kafka_servers}）：{exc}"
    topic = Topics(settings.topic_prefix).submitted
    if topic not in metadata.topics:
        return f"Kafka 中没有主题 {topic}：请核对 SGS_TOPIC_PREFIX（平台未部署时由运维运行 sgs topics ensure）"
    return None


def _progress(stack: ExitStack, name: str) -> Callable[[int], None] | None:
    """A live row count on stderr (a terminal only): the callback the import calls as it reads."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn(f"{name}：已处理 {{task.completed:,.0f}} 行"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    stack.enter_context(progress)
    task = progress.add_task("publish", total=None)
    return lambda read: progress.update(task, completed=read)


def _print_summary(summary: ImportSummary) -> None:
    zh = kind_table(summary.kind).zh
    if summary.dry_run:
        counts = f"读取 {summary.read} 行，有效 {summary.valid}，无效 {summary.invalid}"
        click.echo(f"{summary.file}（{zh}，试运行，未发布）：{counts}")
    else:
        click.echo(
            f"{summary.file}（{zh}）：读取 {summary.read} 行，无效 {summary.invalid}，"
            f"已发布 {summary.published}，发送失败 {summary.failed}"
        )
    for code, count in summary.problem_codes.most_common(5):
        click.echo(f"  {problem_label(code)}（{code}）  {count}")
    if summary.report is not None:
        click.echo(f"  未发布的行及原因：{summary.report}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--department",
    "department_code",
    required=True,
    callback=unified_code,
    metavar="CODE",
    help="报送部门（数据来源单位）的统一社会信用代码：只能发布本部门的决定。",
)
@click.option(
    "--kind", type=click.Choice(["licence", "penalty"]), help="licence 行政许可 / penalty 行政处罚；缺省按表头判断。"
)
@click.option("--dry-run", is_flag=True, help="只校验，不发布 (check every row, send nothing).")
@click.option("--json", "as_json", is_flag=True, help="每个文件输出一行JSON汇总 (a JSON summary line per file).")
@click.option(
    "--processes",
    type=click.IntRange(min=0),
    default=default_processes,
    show_default="本机CPU数，最多4",
    help="校验大文件所用的进程数；0 = 只用本进程 (worker processes checking the rows of large files).",
)
def publish(
    files: tuple[Path, ...], department_code: str, kind: Kind | None, dry_run: bool, as_json: bool, processes: int
) -> None:
    """发布双公示数据文件（JSON lines、CSV、XLSX 国家标准模板）。

    Publish decision files: headers may be Chinese template names, national codes (XK_…/CF_…) or English
    names; CSV in UTF-8 or GBK, with or without BOM. Every row is checked first; rows that are invalid or that
    the broker did not acknowledge go to an error report beside the input (NAME.errors.csv, or .xlsx for a
    workbook) with the original cells and the reasons: correct them there and publish the report again.
    Publishing the same file twice publishes nothing twice.

    Exit status: 0 every row published (or valid, with --dry-run); 1 some rows were not; 2 unusable input
    (unreadable file, unknown kind, Kafka unreachable or without the platform's topics).
    """
    import json

    settings = Settings.from_env()
    options = validation_options(settings)
    if not dry_run:
        problem = _broker_reachable(settings)
        if problem is not None:
            click.echo(f"错误：{problem}", err=True)
            sys.exit(EXIT_UNUSABLE)
    status = EXIT_ALL_PUBLISHED
    for path in files:
        with ExitStack() as stack:
            progress = _progress(stack, path.name)
            try:
                summary = import_file(
                    path,
                    department_code=department_code,
                    kind=kind,
                    publish_to=None if dry_run else settings,
                    producer_config={"message.timeout.ms": 60_000},
                    progress=progress,
                    processes=processes,
                    options=options,
                )
            except TemplateError as exc:
                click.echo(f"错误：{exc}" if path.name in str(exc) else f"错误：{path}：{exc}", err=True)
                status = EXIT_UNUSABLE
                continue
        if as_json:
            click.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        else:
            _print_summary(summary)
        if not summary.complete and status == EXIT_ALL_PUBLISHED:
            status = EXIT_SOME_NOT_PUBLISHED
    sys.exit(status)
