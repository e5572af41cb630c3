"""`sgs supervisors`: the operator issues and revokes the supervisors' dashboard keys."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import click

from sgs.config import Settings
from sgs.web.supervisors import SupervisorKeys


def _keys() -> SupervisorKeys:
    return SupervisorKeys(Settings.from_env().supervisors_file)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def supervisors() -> None:
    """监管人员的看板密钥 (supervisors' dashboard keys; stored hashed in SGS_SUPERVISORS_PATH)."""


def _login(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    # Browsers send HTTP Basic credentials in ways that differ beyond ASCII: login names stay ASCII.
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,31}", value):
        raise click.BadParameter("登录名只能用小写字母、数字和 . _ -（2–32位），如 zhang.wei")
    return value


@supervisors.command()
@click.argument("name", callback=_login)
def add(name: str) -> None:
    """为监管人员签发密钥（已有则再签发一把）(issue a key; NAME is the sign-in user name, e.g. zhang.wei)."""
    key = _keys().add(name, datetime.now(UTC))
    click.echo(f"{name} 的看板密钥，只显示这一次：")
    click.echo(key)
    click.echo("登录 /dashboard 时用户名填姓名，密码填此密钥。", err=True)


@supervisors.command("revoke-key")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """吊销一把看板密钥（KEY_ID 为 sgs_<KEY_ID>_… 的中间部分）。"""
    name = _keys().revoke(key_id, datetime.now(UTC))
    if name is None:
        click.echo(f"错误：没有编号为 {key_id} 的有效密钥", err=True)
        sys.exit(2)
    click.echo(f"已吊销 {name} 的密钥 {key_id}")


@supervisors.command("list")
def list_() -> None:
    """列出监管人员及其密钥编号。"""
    for supervisor in _keys().all():
        keys = "，".join(f"{k.key_id}{'' if k.active else '（已吊销）'}" for k in supervisor.keys)
        click.echo(f"{supervisor.name}\t{keys}")
