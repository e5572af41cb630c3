"""The Faust application: one app per worker process, configured from `Settings`.

Agents: decisions (validate, merge, publish to Elasticsearch, track deadlines; with the expiry and deadline
timers), the rejection indexer, the sanction join (join, alert indexer), and the canary. Tables are
RocksDB-backed and changelogged, so a restarted or rebalanced worker recovers its state from Kafka.
"""

from __future__ import annotations

import socket

import faust

from sgs.config import Settings
from sgs.core.validate import ValidationOptions
from sgs.streams.context import Context


def create_app(settings: Settings, options: ValidationOptions) -> faust.App:
    """The worker's app; `options`: validation with the operator's publication rules, read at start."""
    workers_dir = settings.state_dir / "workers"
    workers_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.topic_prefix}worker",
        broker=f"kafka://{settings.kafka_servers}",
        store="rocksdb://",
        datadir=str(workers_dir / "{conf.id}"),
        web_bind=settings.worker_web_host,
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
        consumer_group_instance_id=settings.worker_id or f"{socket.gethostname()}-{settings.worker_web_port}",
    )
    from sgs.streams import canary, decisions, rejections, sanctions, web

    ctx = Context(settings, options)
    canary.register(app, settings)
    decisions.register(app, ctx)
    rejections.register(app, ctx)
    sanctions.register(app, ctx)
    web.register(app)
    return app
