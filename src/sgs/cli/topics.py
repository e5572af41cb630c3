"""`sgs topics`: the pipeline's Kafka topics."""

from __future__ import annotations

import click

from sgs.config import Settings


@click.group()
def topics() -> None:
    """主题 — the pipeline's Kafka topics (names carry SGS_TOPIC_PREFIX)."""


@topics.command()
def ensure() -> None:
    """创建缺少的主题 — create missing topics with their partitions and retention/compaction. Idempotent."""
    from sgs.streams.topics import Topics, ensure_topics

    settings = Settings.from_env()
    created = set(ensure_topics(settings))
    for spec in Topics(settings.topic_prefix).specs():
        state = "created" if spec.name in created else "exists"
        policy = spec.config["cleanup.policy"]
        partitions = spec.partitions or settings.topic_partitions
        click.echo(f"{spec.name:<40}{state:<9}{partitions} partitions  {policy:<8}{spec.doc}")
