"""`sgs departments`: the operator issues and revokes the departments' gateway credentials."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import NoReturn

import click

from sgs.cli.options import unified_code
from sgs.config import Settings
from sgs.connectors.departments import (
    ChangeRefusedError,
    Department,
    DepartmentDirectory,
    issue_key,
    utc_now,
    with_key,
    with_key_revoked,
)
from sgs.streams.topics import ensure_topics


def _fail(message: str) -> NoReturn:
    click.echo(f"错误：{message}", err=True)
    sys.exit(2)


def _webhook(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """An http(s) URL with a host, or nothing: a URL the notifier cannot post to is refused here."""
    if not value:
        return None
    import httpx

    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise click.BadParameter(f"不是有效的地址：{exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise click.BadParameter("推送地址应为 http:// 或 https:// 开头的完整地址")
    return value


def _directory() -> DepartmentDirectory:
    settings = Settings.from_env()
    try:
        ensure_topics(settings)
        return DepartmentDirectory(settings).load()
    except Exception as exc:
        _fail(f"无法读取部门目录（Kafka {settings.kafka_servers}）：{exc}")


def _registered(code: str, latest: Department | None) -> Department:
    if latest is None:
        raise ChangeRefusedError(f"部门 {code} 未登记；请先 `sgs departments add {code} --name …`")
    return latest


def _update(directory: DepartmentDirectory, code: str, change: Callable[[Department | None], Department]) -> Department:
    """`change` applied to the department's latest record, safe against another operator's change at the same
    moment (`DepartmentDirectory.update`)."""
    try:
        return directory.update(code, change)
    except ChangeRefusedError as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(f"部门目录未能保存（Kafka {directory.settings.kafka_servers}）：{exc}")


def _hand_over(department: Department, key: str) -> None:
    click.echo(f"{department.name}（{department.code}）的新密钥，只显示这一次，请妥善转交：")
    click.echo(key)
    click.echo("请求时使用请求头 Authorization: Bearer <密钥>", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def departments() -> None:
    """报送部门及其网关密钥 (departments and their gateway keys; keys are stored hashed)."""


@departments.command()
@click.argument("code", callback=unified_code)
@click.option("--name", required=True, help="部门名称，如 信阳市生态环境局。")
@click.option("--webhook", "webhook_url", metavar="URL", callback=_webhook, help="退回和临期提醒推送到的地址（可选）。")
def add(code: str, name: str, webhook_url: str | None) -> None:
    """登记部门并签发第一把密钥 (register a department and issue its first key)."""
    now = utc_now()
    text, key = issue_key(now)

    def register(latest: Department | None) -> Department:
        if latest is not None:
            raise ChangeRefusedError(f"部门 {code} 已登记；要签发新密钥请用 `sgs departments add-key {code}`")
        return Department(code, name, (key,), webhook_url, now)

    _hand_over(_update(_directory(), code, register), text)


@departments.command("add-key")
@click.argument("code", callback=unified_code)
def add_key(code: str) -> None:
    """再签发一把密钥，旧密钥仍有效，直到吊销 (issue another key: rotate without downtime)."""
    now = utc_now()
    text, key = issue_key(now)
    _hand_over(_update(_directory(), code, lambda latest: with_key(_registered(code, latest), key, now)), text)


@departments.command("revoke-key")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """吊销一把密钥（KEY_ID 为密钥 sgs_<KEY_ID>_… 的中间部分）(revoke a key; effective within seconds)."""
    directory = _directory()
    department = directory.owner_of_key(key_id)
    if department is None:
        _fail(f"没有编号为 {key_id} 的密钥（`sgs departments list` 列出所有密钥编号）")
    if not any(key.key_id == key_id and key.active for key in department.keys):
        click.echo(f"密钥 {key_id} 已吊销")
        return
    code = department.code
    _update(directory, code, lambda latest: with_key_revoked(_registered(code, latest), key_id, utc_now()))
    click.echo(f"已吊销 {department.name}（{department.code}）的密钥 {key_id}")


@departments.command("set-webhook")
@click.argument("code", callback=unified_code)
@click.argument("url", required=False, callback=_webhook)
def set_webhook(code: str, url: str | None) -> None:
    """设置（或不带URL时清除）部门的推送地址 (set or clear a department's webhook)."""
    import dataclasses

    department = _update(
        _directory(),
        code,
        lambda latest: dataclasses.replace(_registered(code, latest), webhook_url=url or None, updated_at=utc_now()),
    )
    click.echo(f"{department.name}：推送地址 {'已设为 ' + url if url else '已清除'}")


@departments.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one department per line.")
def list_(as_json: bool) -> None:
    """列出部门及其密钥编号 (list departments, key ids and their state; never the keys themselves)."""
    for department in _directory().all():
        if as_json:
            keys = [
                {"key_id": k.key_id, "created_at": k.created_at.isoformat(), "active": k.active}
                for k in department.keys
            ]
            record = {"code": department.code, "name": department.name, "keys": keys, "webhook": department.webhook_url}
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        keys_text = "，".join(f"{k.key_id}{'' if k.active else '（已吊销）'}" for k in department.keys) or "无"
        click.echo(f"{department.code}\t{department.name}\t密钥：{keys_text}\t推送：{department.webhook_url or '无'}")
