"""`sgs demo`: the platform running on the local stack, with a feed you can watch."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import click

from sgs.config import Settings
from sgs.deploy.local.errors import StackError
from sgs.deploy.local.stack import LocalStack


@click.command()
@click.option("--once", is_flag=True, help="Exit after the round trip instead of keeping the worker running.")
def demo(once: bool) -> None:
    """演示 — start the local stack and a worker, send a canary through every part, show where to look.

    Without --once the worker keeps running until Ctrl-C; the stack stays up afterwards (`sgs stack down`).
    """
    from sgs.connectors import canary as canary_client
    from sgs.streams import canary

    settings = Settings.from_env()
    try:
        LocalStack(settings).up(lambda message: click.echo(message, err=True))
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    log_path = settings.state_dir / "demo" / "worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "sgs.cli.main", "worker"],
            env={**os.environ, **settings.to_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        click.echo(f"worker started (pid {worker.pid}, log {log_path})")
        began = time.monotonic()
        canary_id = canary_client.send(settings)
        click.echo(f"canary {canary_id} sent to Kafka topic {canary.topic_name(settings)}")
        document = canary_client.wait_found(settings, canary_id, timeout=120)
        click.echo(f"canary searchable in Elasticsearch after {time.monotonic() - began:.1f} s: {document}")
        click.echo(
            "\nwhere to look:\n"
            f"  Elasticsearch  {settings.elasticsearch}/{canary.index_name(settings)}/_search?pretty\n"
            f"  Kafka          {settings.kafka_servers}\n"
            f"  Registry       {settings.registry}/subjects\n"
            "  Servers        sgs stack status · sgs stack logs kafka|elasticsearch|registry\n"
            "  Stop           Ctrl-C stops the worker; `sgs stack down` stops the servers"
        )
        if not once:
            worker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.terminate()
        worker.wait(timeout=30)
