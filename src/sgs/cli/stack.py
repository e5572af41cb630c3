"""`sgs stack`: the local Kafka + Elasticsearch + schema registry, fetched from Maven Central, on loopback."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from sgs.config import Settings
from sgs.deploy.local.errors import StackError
from sgs.deploy.local.stack import LocalStack


def _stack() -> LocalStack:
    return LocalStack(Settings.from_env())


def _report(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def stack() -> None:
    """本地运行环境 — the local stack (Kafka KRaft, Elasticsearch, Apicurio schema registry) on 127.0.0.1.

    Artifacts are fetched once with Maven into SGS_CACHE_DIR (default ~/.cache/sgs); data and logs live in
    SGS_STATE_DIR. Ports and heaps: SGS_KAFKA_PORT, SGS_ELASTICSEARCH_PORT, SGS_REGISTRY_PORT, *_HEAP.
    """


@stack.command()
def up() -> None:
    """启动 — fetch what is missing, start all servers, wait until healthy. Harmless when already up."""
    try:
        _stack().up(_report)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc


@stack.command()
def down() -> None:
    """停止 — stop the servers this stack started (never anything else). Harmless when already down."""
    _stack().down(_report)


@stack.command()
def fetch() -> None:
    """下载 — fetch the pinned Kafka, Elasticsearch and registry distributions with Maven, start nothing."""
    try:
        _stack().fetch(_report)
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    _report("all artifacts are in the cache")


@stack.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """状态 — each server's state, address, pid and log; exit 1 unless all are healthy."""
    statuses = _stack().status()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "version": s.version,
                        "state": s.state,
                        "address": s.address,
                        "pid": s.pid,
                        "log": str(s.log_path),
                    }
                    for s in statuses
                ]
            )
        )
    else:
        for s in statuses:
            pid = f"pid {s.pid}" if s.pid else "-"
            click.echo(f"{s.name:<14}{s.state:<10}{s.version:<10}{s.address:<44}{pid:<12}{s.log_path}")
    sys.exit(0 if all(s.healthy for s in statuses) else 1)


@stack.command()
@click.argument("server", type=click.Choice(["kafka", "elasticsearch", "registry"]))
@click.option("-n", "--lines", default=50, show_default=True, help="How many lines from the end.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
def logs(server: str, lines: int, follow: bool) -> None:
    """日志 — print the end of a server's log."""
    path = _stack().server(server).log_path
    if not path.exists():
        raise click.ClickException(f"no log yet at {path}")
    command = ["tail", "-n", str(lines), *(["-F"] if follow else []), str(path)]
    sys.exit(subprocess.call(command))
