"""The department SDK: publish licensing and penalty decisions onto Kafka, checked first on the clerk's side.

    from sgs.connectors.publisher import Publisher

    with Publisher(department_code="11411500MB0000000X") as publisher:
        receipt = publisher.publish("penalty", {"行政相对人名称": "信阳市某某有限公司", ...})
        if receipt.status == "invalid":
            for problem in receipt.problems:
                print(problem.field, problem.message)
    for result in publisher.results:   # after the context: every decision accepted by the broker or failed
        print(result.decision_id, result.status, result.error)

Each decision is validated with the platform's own rules before anything is sent (an invalid one is never
produced), encoded as Avro in the Confluent wire format, and produced keyed by its decision id with an
idempotent producer (`acks=all`) and the murmur2 partitioner that Kafka's Java clients and aiokafka use.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from confluent_kafka import KafkaError, Message, Producer

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.core.codes import normalize_code
from sgs.core.dates import CHINA_TZ
from sgs.core.masking import json_value
from sgs.core.problems import Problem
from sgs.core.submission import ownership_problem
from sgs.core.validate import validate
from sgs.streams.topics import Topics

Status = Literal["pending", "accepted", "invalid", "failed"]
Source = Literal["sdk", "gateway", "import"]
RECORD_NAMES = {"licence": "cn.sgs.v1.Licence", "penalty": "cn.sgs.v1.Penalty"}


@dataclass
class Receipt:
    """What became of one decision: `pending` until the broker answers, then `accepted` or `failed`."""

    kind: str
    decision_id: str | None
    event_id: str
    version: int
    status: Status = "pending"
    problems: tuple[Problem, ...] = ()
    error: str | None = None
    partition: int | None = None
    offset: int | None = None
    row: int | None = field(default=None, compare=False)  # where it came from, for file imports


class Publisher:
    def __init__(
        self,
        department_code: str,
        *,
        settings: Settings | None = None,
        source: Source = "sdk",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.department_code = normalize_code(department_code)
        self.source = source
        self.clock = clock
        self.topic = Topics(self.settings.topic_prefix).submitted
        self.results: list[Receipt] = []
        self._codec = AvroCodec(self.settings.registry, "submission")
        self._producer = Producer(
            {
                "bootstrap.servers": self.settings.kafka_servers,
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "murmur2_random",
                "linger.ms": 20,
                **(producer_config or {}),
            }
        )

    def publish(self, kind: str, record: Mapping[str, object], *, version: int | None = None) -> Receipt:
        """Validate and send one decision given by any accepted field names (English, national code, 中文)."""
        now = self.clock()
        result = validate(kind, record, today=now.astimezone(CHINA_TZ).date())
        receipt = Receipt(kind, result.decision_id, str(uuid.uuid4()), version or _millis(now))
        not_own = ownership_problem(result.values, self.department_code)
        if result.record is None or result.decision_id is None or not_own is not None:
            receipt.status, receipt.problems = "invalid", result.problems + ((not_own,) if not_own else ())
            self.results.append(receipt)
            return receipt
        decision = {name: _text(value) for name, value in result.record.values.items()}
        original = {str(k): "" if v is None else str(v) for k, v in record.items()}
        envelope = self._envelope("upsert", kind, result.decision_id, receipt, now)
        envelope["decision"] = (RECORD_NAMES[kind], decision)
        envelope["original"] = original if original != decision else None
        return self._send(envelope, receipt)

    def revoke(self, decision_id: str, *, version: int | None = None) -> Receipt:
        """Withdraw a decision this department published (kind is read from the decision id)."""
        now = self.clock()
        kind = decision_id.split(":", 1)[0]
        receipt = Receipt(kind, decision_id, str(uuid.uuid4()), version or _millis(now))
        return self._send(self._envelope("revoke", kind, decision_id, receipt, now), receipt)

    def flush(self, timeout: float = 30.0) -> list[Receipt]:
        """Wait for the broker's answers; returns every receipt so far. Undelivered ones are `failed`."""
        self._producer.flush(timeout)
        for receipt in self.results:
            if receipt.status == "pending":
                receipt.status, receipt.error = "failed", f"no answer from the broker within {timeout:.0f} s"
        return self.results

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def _envelope(self, operation: str, kind: str, decision_id: str, receipt: Receipt, now: datetime) -> dict[str, Any]:
        return {
            "event_id": receipt.event_id,
            "operation": operation,
            "version": receipt.version,
            "department_code": self.department_code,
            "submitted_at": now,
            "source": self.source,
            "kind": kind,
            "decision_id": decision_id,
            "decision": None,
            "original": None,
        }

    def _send(self, envelope: dict[str, Any], receipt: Receipt) -> Receipt:
        self.results.append(receipt)

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                receipt.status, receipt.error = "failed", error.str()
            else:
                receipt.status, receipt.partition, receipt.offset = "accepted", message.partition(), message.offset()

        value = self._codec.encode(self.topic, envelope)
        while True:
            try:
                self._producer.produce(self.topic, key=envelope["decision_id"], value=value, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain, then retry
                self._producer.poll(0.5)
        self._producer.poll(0)
        return receipt


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _text(value: object) -> str:
    converted = json_value(value)  # type: ignore[arg-type]
    return "、".join(converted) if isinstance(converted, list) else str(converted)
