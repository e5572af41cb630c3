"""`sgs reindex`: rebuild the public and archive indices from decisions.current, then swap the aliases."""

from __future__ import annotations

import asyncio

import click

from sgs.config import Settings


@click.command()
@click.option("--shards", type=int, default=1, show_default=True, help="Primary shards of each new index.")
@click.option("--replicas", type=int, default=0, show_default=True, help="Replicas of each new index.")
@click.option("--refresh-interval", default="1s", show_default=True, help="Refresh interval of the new indices.")
@click.option(
    "--max-refused",
    type=int,
    default=0,
    show_default=True,
    help="Undecodable or rejected records tolerated; beyond that the old indices stay in service.",
)
def reindex(shards: int, replicas: int, refresh_interval: str, max_refused: int) -> None:
    """重建检索库 — rebuild the licence, penalty and archive indices from the current-state topic alone.

    Searches keep using the old indices until one atomic alias swap; the old indices are then deleted.
    """
    from rich.console import Console
    from rich.progress import Progress

    from sgs.connectors.rebuild import RebuildError, rebuild
    from sgs.connectors.search_indices import IndexSettings

    settings = Settings.from_env()
    index_settings = IndexSettings(shards, replicas, refresh_interval)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        try:
            report = asyncio.run(
                rebuild(settings, index_settings=index_settings, max_refused=max_refused, progress=progress)
            )
        except RebuildError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"records read   {report.records} ({report.decisions} decisions) in {report.seconds:.1f} s")
    for alias, index in report.indices.items():
        click.echo(f"{alias:<30}→ {index:<50}{report.written[alias]} documents written")
    for refusal in report.refused:
        click.echo(f"refused        {refusal}", err=True)
