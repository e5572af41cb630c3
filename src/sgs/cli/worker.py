"""`sgs worker`: one Faust worker process; run N of them to share the partitions of one consumer group."""

from __future__ import annotations

import dataclasses

import click

from sgs.config import DEVELOPMENT_PERSON_KEY_SECRET, Settings


@click.command()
@click.option("--web-port", type=int, help="Port of this worker's web server (/metrics); default from settings.")
@click.option("--loglevel", default="info", show_default=True, type=click.Choice(["debug", "info", "warning"]))
def worker(web_port: int | None, loglevel: str) -> None:
    """流处理进程 — run a stream-processing worker until interrupted (SIGTERM/Ctrl-C stop it cleanly)."""
    from faust import Worker

    from sgs.cli.options import validation_options
    from sgs.streams.app import create_app
    from sgs.streams.prepare import prepare

    settings = Settings.from_env()
    if settings.person_key_secret == DEVELOPMENT_PERSON_KEY_SECRET:
        click.echo(
            "警告：SGS_PERSON_KEY_SECRET 未设置，自然人标识使用公开的开发密钥，可由证件号反推；生产环境必须设置"
            " (warning: natural persons' keys use the public development secret)",
            err=True,
        )
    if web_port is not None:
        settings = dataclasses.replace(settings, worker_web_port=web_port)
    options = validation_options(settings)  # read once: a broken publication rules file stops here, with its reason
    prepare(settings)
    app = create_app(settings, options)
    Worker(app, loglevel=loglevel).execute_from_commandline()
