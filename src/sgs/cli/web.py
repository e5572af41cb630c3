"""`sgs web`: the public search portal and the supervisors' dashboard (FastAPI on uvicorn)."""

from __future__ import annotations

import click

from sgs.config import Settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", help="监听地址（缺省 SGS_WEB_HOST，127.0.0.1）。")
@click.option("--port", type=int, help="端口（缺省 SGS_WEB_PORT，16090）。")
def web(host: str | None, port: int | None) -> None:
    """启动公示查询网站与监管看板 (public search at /, JSON API at /api/v1, dashboard at /dashboard).

    Supervisors sign in to the dashboard with keys from `sgs supervisors add`; see README, "Reading".
    """
    import uvicorn

    from sgs.streams.clock import clock_from
    from sgs.web.app import create_app

    settings = Settings.from_env()
    bind, listen = host or settings.web_host, port or settings.web_port
    click.echo(f"公示查询 http://{bind}:{listen}/   监管看板 http://{bind}:{listen}/dashboard", err=True)
    app = create_app(settings, clock=clock_from(settings.clock).now)  # the worker's time: one "today" for all
    uvicorn.run(app, host=bind, port=listen, log_level="info")
