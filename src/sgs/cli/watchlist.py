"""`sgs watchlist`: a department's 关注名单 — subjects whose new penalties it wants to hear of."""

from __future__ import annotations

import click

from sgs.config import Settings
from sgs.core.codes import check_uscc, normalize_code


def _code(value: str) -> str:
    checked = check_uscc(value)
    if not checked.valid:
        raise click.BadParameter(f"{value}：不是有效的统一社会信用代码：{checked.reason}")
    return normalize_code(value)


def _codes(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    return [_code(value) for value in values]


def _department(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    return _code(value)


department_option = click.option(
    "--department", required=True, callback=_department, metavar="CODE", help="关注的部门。"
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def watchlist() -> None:
    """关注名单：被关注的主体有新的行政处罚时，向部门发出联合惩戒提醒（告警主题、看板、推送）。"""


@watchlist.command()
@department_option
@click.argument("subjects", nargs=-1, required=True, callback=_codes)
def add(department: str, subjects: list[str]) -> None:
    """关注一个或多个主体（统一社会信用代码）。"""
    from sgs.connectors.watchlists import watch

    count = watch(Settings.from_env(), department, subjects)
    click.echo(f"已关注 {count} 个主体")


@watchlist.command()
@department_option
@click.argument("subjects", nargs=-1, required=True, callback=_codes)
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
