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

`prepare_upsert` and `prepare_revoke` are the checks and the envelope without a producer: the HTTP gateway
and `sgs publish` share them with `Publisher`.
"""

from __future__ import annotations

import dataclasses
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
from sgs.core.docnum import canonical_decision_id
from sgs.core.masking import json_value
from sgs.core.problems import Problem
from sgs.core.publication import load_publication_rules
from sgs.core.submission import ownership_problem
from sgs.core.text import without_surrogates
from sgs.core.validate import DEFAULT_OPTIONS, ValidationOptions, validate
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


@dataclass
class Prepared:
    """A submission checked and ready to send (`envelope`), or refused on the sender's side (envelope None)."""

    receipt: Receipt
    envelope: dict[str, Any] | None


def validation_options(settings: Settings) -> ValidationOptions:
    """Validation as the platform's worker does it: with the publication rules file of `settings`
    (`SGS_PUBLICATION_RULES_PATH`). Raises `PublicationRulesError` naming the file when it cannot be used."""
    return ValidationOptions(publication_rules=load_publication_rules(settings.publication_rules_path))


def prepare_upsert(
    department_code: str,
    kind: str,
    record: Mapping[str, object] | object,
    *,
    source: Source,
    now: datetime,
    version: int | None = None,
    options: ValidationOptions = DEFAULT_OPTIONS,
) -> Prepared:
    """Validate one decision given by any accepted field names (English, national code, 中文), as a mapping or
    a dataclass instance, and build its envelope. Refused: not valid, or another department's record.
    `options`: the platform's publication rules (`validation_options`), so that a 公示截止期 the worker would
    refuse is refused here, before it is sent."""
    values = _as_mapping(record)
    if values is None:
        receipt = Receipt(kind, None, str(uuid.uuid4()), _millis(now), status="invalid")
        receipt.problems = (Problem("", "record.type", "记录应为“字段名: 值”的映射或数据类（dataclass）实例"),)
        return Prepared(receipt, None)
    if (refused := _refused_version(kind, None, version, now)) is not None:
        return refused
    result = validate(kind, values, today=now.astimezone(CHINA_TZ).date(), options=options)
    receipt = Receipt(kind, result.decision_id, str(uuid.uuid4()), version or _millis(now))
    not_own = ownership_problem(result.values, department_code)
    if result.record is None or result.decision_id is None or not_own is not None:
        receipt.status, receipt.problems = "invalid", result.problems + ((not_own,) if not_own else ())
        return Prepared(receipt, None)
    # Most values are already text: convert only the dates, amounts and multi-valued fields.
    decision = {name: v if type(v) is str else _text(v) for name, v in result.record.values.items()}
    # The audit copy keeps what the department wrote, not the empty columns of its template — and in a column
    # no field reads, a lone surrogate (JSON "\ud800") as U+FFFD: an Avro string cannot carry it.
    original = {
        without_surrogates(str(k)): without_surrogates(v if type(v) is str else str(v))
        for k, v in values.items()
        if v is not None and v != ""
    }
    envelope = _envelope(department_code, "upsert", kind, result.decision_id, receipt, source, now)
    envelope["decision"] = (RECORD_NAMES[kind], decision)
    envelope["original"] = original if original != decision else None
    return Prepared(receipt, envelope)


def prepare_revoke(
    department_code: str, decision_id: str, *, source: Source, now: datetime, version: int | None = None
) -> Prepared:
    """The envelope that withdraws a decision (its kind is read from the decision id). The id may be written as
    the clerk typed the 文号 (信环罚[2024]12号, a lower-case code): the receipt and the envelope carry its canonical
    form, the only one that finds the decision."""
    canonical = canonical_decision_id(decision_id)
    kind = canonical.split(":", 1)[0] if canonical else ""
    if canonical is None:
        receipt = Receipt(kind, None, str(uuid.uuid4()), _millis(now), status="invalid")
        message = f"“{decision_id}”不是决定标识（类型:机关统一社会信用代码:文号）"
        receipt.problems = (Problem("decision_id", "revoke.decision_id", message),)
        return Prepared(receipt, None)
    if (refused := _refused_version(kind, canonical, version, now)) is not None:
        return refused
    receipt = Receipt(kind, canonical, str(uuid.uuid4()), version or _millis(now))
    return Prepared(receipt, _envelope(department_code, "revoke", kind, canonical, receipt, source, now))


MAX_VERSION = 2**63 - 1  # an Avro long


def _refused_version(kind: str, decision_id: str | None, version: object, now: datetime) -> Prepared | None:
    """A refusal when a version is given that the platform cannot order by: versions are whole numbers from 1."""
    if version is None or (type(version) is int and 1 <= version <= MAX_VERSION):
        return None
    receipt = Receipt(kind, decision_id, str(uuid.uuid4()), _millis(now), status="invalid")
    receipt.problems = (Problem("version", "envelope.version", f"版本号应为1至{MAX_VERSION}的整数，实为{version!r}"),)
    return Prepared(receipt, None)


class Versions:
    """Default versions (the time of submission in milliseconds) that never tie for one decision in a process.

    Two submissions of one decision in the same millisecond (a file that lists a decision and then its
    correction, a batch naming it twice) would tie, and a tie goes to the larger content hash, not to the later
    submission. The later one gets the next millisecond instead; only decisions seen at the current millisecond
    or later are remembered, so memory stays a handful of ids."""

    def __init__(self) -> None:
        self._tick = 0
        self._recent: dict[str, int] = {}

    def next(self, decision_id: str, millis: int) -> int:
        if millis > self._tick:
            self._tick = millis
            self._recent = {known: v for known, v in self._recent.items() if v >= millis}
        last = self._recent.get(decision_id)
        version = millis if last is None or last < millis else last + 1
        self._recent[decision_id] = version
        return version


def untie(prepared: Prepared, versions: Versions) -> None:
    """Give a submission prepared with the default version one that no earlier submission of its decision
    through `versions` has (see `Versions`)."""
    receipt, envelope = prepared.receipt, prepared.envelope
    if envelope is not None and receipt.decision_id is not None:
        receipt.version = envelope["version"] = versions.next(receipt.decision_id, receipt.version)


class Publisher:
    """Publishes as one department. Every receipt goes to `results` (unless `keep_results=False`, for files of
    millions of rows) and to `on_result` once it is final: invalid at once, accepted or failed when the broker
    answers."""

    def __init__(
        self,
        department_code: str,
        *,
        settings: Settings | None = None,
        source: Source = "sdk",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        producer_config: Mapping[str, Any] | None = None,
        on_result: Callable[[Receipt], None] | None = None,
        keep_results: bool = True,
        options: ValidationOptions | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.options = options or validation_options(self.settings)
        self.department_code = normalize_code(department_code)
        self.source = source
        self.clock = clock
        self.topic = Topics(self.settings.topic_prefix).submitted
        self.results: list[Receipt] = []
        self._on_result = on_result
        self._keep_results = keep_results
        self._pending: dict[str, Receipt] = {}  # event id -> receipt awaiting the broker
        self.versions = Versions()
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

    def publish(
        self, kind: str, record: Mapping[str, object] | object, *, version: int | None = None, row: int | None = None
    ) -> Receipt:
        """Validate and send one decision (a mapping of any accepted field names, or a dataclass instance)."""
        prepared = prepare_upsert(
            self.department_code,
            kind,
            record,
            source=self.source,
            now=self.clock(),
            version=version,
            options=self.options,
        )
        prepared.receipt.row = row
        if version is None:
            untie(prepared, self.versions)
        return self.send(prepared)

    def revoke(self, decision_id: str, *, version: int | None = None) -> Receipt:
        """Withdraw a decision this department published."""
        prepared = prepare_revoke(
            self.department_code, decision_id, source=self.source, now=self.clock(), version=version
        )
        if version is None:
            untie(prepared, self.versions)
        return self.send(prepared)

    def flush(self, timeout: float = 30.0) -> list[Receipt]:
        """Wait for the broker's answers; returns every receipt kept so far. Undelivered ones are `failed`."""
        self._producer.flush(timeout)
        for receipt in list(self._pending.values()):
            self._finish(receipt, "failed", error=f"no answer from the broker within {timeout:.0f} s")
        return self.results

    @property
    def in_flight(self) -> int:
        """Receipts still waiting for the broker."""
        return len(self._pending)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def _finish(self, receipt: Receipt, status: Status, *, error: str | None = None) -> None:
        self._pending.pop(receipt.event_id, None)
        receipt.status, receipt.error = status, error
        if self._on_result is not None:
            self._on_result(receipt)

    @property
    def schema_id(self) -> int:
        """The registry's id of the submission schema on this publisher's topic: what `encoded` values carry."""
        return self._codec.schema_id(self.topic)

    def send(self, prepared: Prepared, *, encoded: bytes | None = None) -> Receipt:
        """Send a submission prepared with `prepare_upsert` or `prepare_revoke` (a refused one is only recorded).
        `encoded`: its envelope already framed with `schema_id` (e.g. by a row-checking process; the envelope
        itself may then be left out)."""
        receipt, envelope = prepared.receipt, prepared.envelope
        if self._keep_results:
            self.results.append(receipt)
        if receipt.status == "invalid":
            self._finish(receipt, "invalid")
            return receipt
        if encoded is None:
            if envelope is None:
                self._finish(receipt, "invalid")
                return receipt
            encoded = self._codec.encode(self.topic, envelope)
        self._pending[receipt.event_id] = receipt

        def delivered(error: KafkaError | None, message: Message) -> None:
            if receipt.event_id not in self._pending:
                return  # already given up on by flush(): a receipt is final once, and reported once
            if error is not None:
                self._finish(receipt, "failed", error=error.str())
            else:
                receipt.partition, receipt.offset = message.partition(), message.offset()
                self._finish(receipt, "accepted")

        while True:
            try:
                self._producer.produce(self.topic, key=receipt.decision_id, value=encoded, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain, then retry
                self._producer.poll(0.5)
        self._producer.poll(0)
        return receipt


def _envelope(
    department_code: str, operation: str, kind: str, decision_id: str, receipt: Receipt, source: Source, now: datetime
) -> dict[str, Any]:
    return {
        "event_id": receipt.event_id,
        "operation": operation,
        "version": receipt.version,
        "department_code": department_code,
        "submitted_at": now,
        "source": source,
        "kind": kind,
        "decision_id": decision_id,
        "decision": None,
        "original": None,
    }


def _as_mapping(record: Mapping[str, object] | object) -> Mapping[str, object] | None:
    """A dataclass instance (e.g. a department's own typed record) reads as its fields; a mapping as itself."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return record if isinstance(record, Mapping) else None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _text(value: object) -> str:
    converted = json_value(value)  # type: ignore[arg-type]
    return "、".join(converted) if isinstance(converted, list) else str(converted)
