"""The pipeline's Kafka topics: names under the configured prefix, partitions, and retention or compaction.

Every topic keyed by decision id has the same partition count, so one decision's submissions, state and
deadline messages land on the same partition number and one worker owns all of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from sgs.config import Settings

RETAIN_FOREVER = "-1"
# What a partition answers for a moment while its leader moves or is not yet known to the client (a topic just
# created, a broker restarting); librdkafka refreshes its metadata meanwhile.
TRANSIENT = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE})


def watermarks(consumer: Consumer, topic: str, partition: int, timeout: float, attempts: int = 20) -> tuple[int, int]:
    """The (first, end) offsets of one partition, asked again while the answer is `TRANSIENT`."""
    attempt = 0
    while True:
        attempt += 1
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            return low, high
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if attempt == attempts or error.code() not in TRANSIENT:
                raise
            time.sleep(0.25)


def filled_ends(consumer: Consumer, topic: str, partitions: Iterable[int], timeout: float) -> dict[int, int]:
    """The end offset of each partition that holds anything: what a reader of a topic's whole log waits for."""
    ends = {}
    for partition in partitions:
        low, high = watermarks(consumer, topic, partition, timeout=timeout)
        if high > low:
            ends[partition] = high
    return ends


@dataclass(frozen=True)
class TopicSpec:
    name: str
    config: dict[str, str]
    doc: str
    partitions: int | None = None  # None: the deployment's partition count (topics keyed by decision id)


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def submitted(self) -> str:
        return f"{self.prefix}decisions.submitted"

    @property
    def rejected(self) -> str:
        return f"{self.prefix}decisions.rejected"

    @property
    def current(self) -> str:
        return f"{self.prefix}decisions.current"

    @property
    def commands(self) -> str:
        return f"{self.prefix}decisions.commands"

    @property
    def deadline_input(self) -> str:
        return f"{self.prefix}deadline.input"

    @property
    def deadline_events(self) -> str:
        return f"{self.prefix}deadline.events"

    @property
    def departments(self) -> str:
        return f"{self.prefix}departments"

    @property
    def by_subject(self) -> str:
        return f"{self.prefix}sanctions.by_subject"

    @property
    def watch(self) -> str:
        return f"{self.prefix}sanctions.watch"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}alerts.sanctions"

    @property
    def webhooks_outbox(self) -> str:
        return f"{self.prefix}webhooks.outbox"

    def specs(self) -> list[TopicSpec]:
        retained = {"cleanup.policy": "delete", "retention.ms": RETAIN_FOREVER}
        compacted = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}
        return [
            TopicSpec(self.submitted, retained, "every submission as sent (Avro Submission)"),
            TopicSpec(self.rejected, retained, "dead letters: original bytes, where they were, every problem"),
            TopicSpec(self.current, compacted, "latest state per decision id (Avro CurrentState)"),
            TopicSpec(
                self.commands,
                {"cleanup.policy": "delete", "retention.ms": str(7 * 86_400_000)},
                "the platform's own commands: expire at the end of the publication period",
            ),
            TopicSpec(
                self.deadline_input,
                {"cleanup.policy": "delete", "retention.ms": str(7 * 86_400_000)},
                "what the deadline tracker observes: seen, published, revoked, check",
            ),
            TopicSpec(self.deadline_events, retained, "deadline state transitions, each once"),
            TopicSpec(
                self.by_subject,
                {"cleanup.policy": "delete", "retention.ms": str(7 * 86_400_000)},
                "current states of decisions with a subject, re-keyed by its unified code (the sanction join)",
            ),
            TopicSpec(self.watch, retained, "departments starting or stopping to watch a subject (Avro Watch)"),
            TopicSpec(self.alerts, retained, "sanction alerts (联合惩戒), each (penalty, licence) pair once"),
            TopicSpec(self.departments, compacted, "departments and their hashed gateway keys", partitions=1),
            TopicSpec(
                self.webhooks_outbox,
                {"cleanup.policy": "delete", "retention.ms": str(30 * 86_400_000)},
                "webhook notifications whose receiver has not answered yet, retried until taken",
            ),
        ]


def ensure_topics(settings: Settings) -> list[str]:
    """Create whichever pipeline topics are missing; return the names created. Safe to run at any time."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    existing = set(admin.list_topics(timeout=15).topics)
    wanted = [
        NewTopic(
            spec.name,
            spec.partitions or settings.topic_partitions,
            settings.topic_replication_factor,
            config=spec.config,
        )
        for spec in Topics(settings.topic_prefix).specs()
        if spec.name not in existing
    ]
    if not wanted:
        return []
    for future in admin.create_topics(wanted, operation_timeout=30).values():
        try:
            future.result()
        except Exception as exc:  # a racing worker may have created it: that is fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return [topic.topic for topic in wanted]
