"""`sgs gateway`: the HTTP ingest gateway for departments (FastAPI on uvicorn)."""

from __future__ import annotations

import click

from sgs.config import Settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", help="监听地址（缺省 SGS_GATEWAY_HOST，127.0.0.1）。")
@click.option("--port", type=int, help="端口（缺省 SGS_GATEWAY_PORT，16080）。")
def gateway(host: str | None, port: int | None) -> None:
    """启动数据报送网关 (the ingest gateway: POST /v1/decisions, /v1/imports …; API docs at /docs).

    Departments authenticate with keys from `sgs departments add`; see README, "The ingest gateway".
    """
    import uvicorn

    from sgs.cli.options import validation_options
    from sgs.connectors.gateway.app import create_app
    from sgs.streams.clock import clock_from
    from sgs.streams.topics import ensure_topics

    settings = Settings.from_env()
    validation_options(settings)  # a broken publication rules file stops here, with its reason
    ensure_topics(settings)  # the departments topic among them
    # Submissions are stamped and versioned by the system clock (as by the SDK); feedback counts days late by
    # the worker's clock.
    app = create_app(settings, feedback_clock=clock_from(settings.clock).now)
    click.echo(
        f"网关 http://{host or settings.gateway_host}:{port or settings.gateway_port}  (API 文档 /docs)", err=True
    )
    uvicorn.run(app, host=host or settings.gateway_host, port=port or settings.gateway_port, log_level="info")
