"""`sgs rules apply`: every decision made again by the worker under the publication rules it runs with now.

The worker reads the rules file at start and applies it to every version it handles. Decisions handled before
the file changed keep the public view they were given, until this asks the worker to make it again: it reads
the latest state of every decision from decisions.current and sends each one with content a `reapply` command
through decisions.commands, keyed by decision id, so the agent that owns the decision does it (a newly withheld
decision leaves the public indices and is no longer chased; a decision no longer covered is published again;
fields come and go). The current-state topic then says what the public indices hold, as always.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Producer

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.connectors.rebuild import TopicReader
from sgs.core.submission import REAPPLY
from sgs.streams.topics import Topics


@dataclass
class ApplyReport:
    decisions: int = 0  # latest states read
    sent: int = 0  # reapply commands sent (every decision with content; a revoke stub has none)


def apply_rules(settings: Settings, *, progress: Callable[[int, int], None] | None = None) -> ApplyReport:
    """Send every decision with content a `reapply` command; returns what was read and sent. `progress(done,
    total)` is called as records are read."""
    topics = Topics(settings.topic_prefix)
    reader = TopicReader(settings.kafka_servers, topics.current)
    current, command = AvroCodec(settings.registry, "current"), AvroCodec(settings.registry, "command")
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_servers,
            "enable.idempotence": True,
            "acks": "all",
            "partitioner": "murmur2_random",  # where the worker's own commands for the decision land
        }
    )
    report = ApplyReport()
    try:
        first, end = reader.watermarks()
        total, done = sum(end[p] - first[p] for p in end), 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, total)

        latest, _ = reader.latest(first, end, advance)
        now = datetime.now(UTC)
        for value in latest.values():
            state = current.decode(topics.current, value)
            report.decisions += 1
            if state["archive_document"]:
                message = {"type": REAPPLY, "decision_id": state["decision_id"], "at": now}
                encoded = command.encode(topics.commands, message)
                producer.produce(topics.commands, key=state["decision_id"], value=encoded)
                producer.poll(0)
                report.sent += 1
        if producer.flush(60) != 0:
            raise RuntimeError("Kafka did not acknowledge every command within 60 s")
    finally:
        reader.close()
    return report
