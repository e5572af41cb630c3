"""`sgs status --department CODE`: a department's open deadline items and uncorrected rejections."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from sgs.cli.options import unified_code
from sgs.config import Settings
from sgs.core.dates import beijing_time

STATE_TITLES = {"overdue": "已逾期", "at_risk": "临期（截止日为今天或下一个工作日）", "pending": "待公示"}


async def _report(settings: Settings, code: str) -> dict[str, Any]:
    from sgs.connectors import search_client
    from sgs.connectors.feedback import department_report
    from sgs.connectors.search_indices import IndexNames
    from sgs.core.calendar import load_calendar
    from sgs.streams.clock import clock_from

    names = IndexNames(settings.index_prefix)
    async with search_client.async_client(settings.elasticsearch, request_timeout=15) as es:
        if not await es.indices.exists(index=names.deadlines):
            # Not "nothing overdue": a wrong SGS_INDEX_PREFIX, or no worker has run here yet.
            raise LookupError(f"检索库中没有 {names.deadlines}：请检查 SGS_INDEX_PREFIX，或先启动工作进程")
        return await department_report(
            es,
            names,
            code,
            now=clock_from(settings.clock).now(),  # the worker's time: its overdue items, its days late
            calendar=load_calendar(settings.calendar_dir),
        )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--department", "code", required=True, callback=unified_code, metavar="CODE", help="部门统一社会信用代码。"
)
@click.option("--json", "as_json", is_flag=True, help="一个JSON对象 (one JSON object).")
def status(code: str, as_json: bool) -> None:
    """本部门的待公示、临期、逾期决定（含截止日），以及被退回且尚未更正的报送。

    A department's pending, at-risk and overdue decisions with their deadlines (overdue: how many working days
    late), and its rejected submissions not yet corrected, with the reasons. Exit 1 when anything is overdue, 2
    when Elasticsearch cannot be asked or holds no deadlines index under SGS_INDEX_PREFIX.
    """
    from elasticsearch import ApiError, TransportError

    settings = Settings.from_env()
    try:
        report = asyncio.run(_report(settings, code))
    except (ApiError, TransportError) as exc:
        click.echo(f"错误：检索库不可用（{settings.elasticsearch}）：{str(exc)[:300]}", err=True)
        raise SystemExit(2) from None
    except LookupError as exc:
        click.echo(f"错误：{exc}", err=True)
        raise SystemExit(2) from None
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for state in ("overdue", "at_risk", "pending"):
            items = report[state]
            total = report["counts"].get(state, len(items))
            shown = f"（列出最紧迫的 {len(items)} 条）" if total > len(items) else ""
            click.echo(f"{STATE_TITLES[state]}：{total} 条{shown}")
            for item in items:
                late = f"  已逾期 {item['working_days_late']} 个工作日" if state == "overdue" else ""
                click.echo(f"  截止 {item['deadline']}  决定日期 {item['decision_date']}  {item['decision_id']}{late}")
        rejected = report["rejected_not_corrected"]
        click.echo(f"被退回且尚未更正：{len(rejected)} 条")
        for item in rejected:
            reasons = "；".join(f"{p['message']} [{p['code']}]" for p in item["problems"])
            at, decision = beijing_time(item["rejected_at"]), item["decision_id"] or "（无法识别的报送）"
            click.echo(f"  {at}（北京时间）  {decision}  {reasons}")
    raise SystemExit(1 if report["overdue"] else 0)
