"""`sgs watchlist`: a department's 关注名单 — subjects whose new penalties it wants to hear of."""

from __future__ import annotations

import click

from sgs.cli.options import unified_code, unified_codes
from sgs.config import Settings

department_option = click.option(
    "--department", required=True, callback=unified_code, metavar="CODE", help="关注的部门。"
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def watchlist() -> None:
    """关注名单：被关注的主体有新的行政处罚时，向部门发出联合惩戒提醒（告警主题、看板、推送）。"""


@watchlist.command()
@department_option
@click.argument("subjects", nargs=-1, required=True, callback=unified_codes)
def add(department: str, subjects: list[str]) -> None:
    """关注一个或多个主体（统一社会信用代码）。"""
    from sgs.connectors.watchlists import watch

    count = watch(Settings.from_env(), department, subjects)
    click.echo(f"已关注 {count} 个主体")


@watchlist.command()
@department_option
@click.argument("subjects", nargs=-1, required=True, callback=unified_codes)
def remove(department: str, subjects: list[str]) -> None:
    """取消关注。"""
    from sgs.connectors.watchlists import watch

    count = watch(Settings.from_env(), department, subjects, watching=False)
    click.echo(f"已取消关注 {count} 个主体")


@watchlist.command("list")
@department_option
def list_(department: str) -> None:
    """列出部门当前关注的主体。"""
    from sgs.connectors.watchlists import watched_by

    for subject in watched_by(Settings.from_env(), department):
        click.echo(subject)
