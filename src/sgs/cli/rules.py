"""`sgs rules`: the publication rules file (periods per 处罚类别 and department, the negative list)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sgs.cli.options import UnusableConfiguration
from sgs.config import Settings

if TYPE_CHECKING:
    from sgs.core.publication import PublicationRules


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def rules() -> None:
    """公示规则 — check the publication rules file, and apply a changed one to decisions already published.

    The file is SGS_PUBLICATION_RULES_PATH (YAML; see README, "Publication rules" and
    deploy/publication/rules.example.yaml).
    """


@rules.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
def check(file: Path | None) -> None:
    """检查规则文件 — read FILE (default: SGS_PUBLICATION_RULES_PATH) and say what it sets; exit 2 if unusable."""
    from sgs.core.publication import PublicationRulesError, load_publication_rules

    path = file or Settings.from_env().publication_rules_path
    if path is None:
        click.echo("未设置 SGS_PUBLICATION_RULES_PATH：使用国家默认公示期限，无负面清单")
        return
    try:
        loaded = load_publication_rules(path)
    except PublicationRulesError as exc:
        raise UnusableConfiguration(str(exc)) from exc
    click.echo(f"{path}：可用")
    click.echo(f"公示期限：{_periods(loaded)}")
    for code, own in loaded.departments.items():
        click.echo(f"部门 {code}：{_periods(own)}")
    click.echo(f"负面清单：{len(loaded.negative_list)} 条")
    for number, entry in enumerate(loaded.negative_list, start=1):
        what = "、".join(sorted(_zh(name) for name in entry.fields)) if entry.fields else "整条决定"
        click.echo(f"  {number}. 不公示{what}：{entry.reason}")


def _periods(rules: PublicationRules) -> str:
    categories = "、".join(f"{name} {months} 个月" for name, months in rules.category_months.items())
    floor = "、".join(rules.floor_keywords)
    sole = "公民" if rules.sole_proprietors_as_persons else "组织"
    return (
        f"默认 {rules.default_months} 个月；{categories or '各处罚类别同默认'}；"
        f"较低数额罚款 {rules.low_fine_months} 个月（公民 ≤{rules.low_fine_wan_person} 万元，"
        f"组织 ≤{rules.low_fine_wan_organization} 万元，个体工商户按{sole}）；"
        f"违法行为类型含{floor}的至少 {rules.floor_months} 个月"
    )


def _zh(name: str) -> str:
    from sgs.core.fields import KINDS, kind_table

    return next((f.zh for kind in KINDS if (f := kind_table(kind).by_name.get(name)) is not None), name)


@rules.command()
def apply() -> None:
    """应用到已发布的决定 — have the worker make every decision in force again under today's rules.

    Run it after changing the negative list: the worker withholds what it now covers (and stops chasing its
    deadline), publishes again what it no longer covers, and removes or restores the fields it names. The
    worker must have been restarted with the new file first (it reads the file at start).
    """
    from rich.console import Console
    from rich.progress import Progress

    from sgs.connectors.rules import apply_rules

    settings = Settings.from_env()
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("reading decisions.current", total=None)
        report = apply_rules(settings, progress=lambda done, total: progress.update(task, completed=done, total=total))
    click.echo(
        f"已读取 {report.decisions} 条决定的当前状态；{report.sent} 条已交工作进程按其现行规则重新处理"
        '（工作进程须已用新的规则文件重启；结果见 sgs_commands_total{type="reapply"}）'
    )
