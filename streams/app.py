"""The Faust application: one app per process, configured from `Settings`, agents registered by modules."""

from __future__ import annotations

import faust

from sgs.config import Settings


def create_app(settings: Settings) -> faust.App:
    workers_dir = settings.state_dir / "workers"
    workers_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.topic_prefix}worker",
        broker=f"kafka://{settings.kafka_servers}",
        store="rocksdb://",
        datadir=str(workers_dir / "{conf.id}"),
        web_host=settings.worker_web_host,
        web_port=settings.worker_web_port,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        # Our sinks ack by hand after their writes succeed (see streams/canary.py).
        stream_wait_empty=False,
    )
    from sgs.streams import canary

    canary.register(app, settings)
    return app
