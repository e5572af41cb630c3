"""Departments and their gateway credentials, kept in a compacted Kafka topic (`<prefix>departments`).

Every gateway and tool reads the same topic, so a key the operator issues or revokes (`sgs departments …`)
takes effect on every gateway within a second, with no shared file and no restart. A key is shown once, when
it is issued: `sgs_<key id>_<secret>`. Only the SHA-256 of the secret is stored — the secret is 256 random
bits, so a plain hash is as good as a slow one and keeps each request's check cheap. A department may hold
several keys at once: issue a new one, move the clients, revoke the old one (rotation without downtime).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from sgs.config import Settings
from sgs.connectors.avro import AvroCodec
from sgs.streams.topics import Topics, filled_ends

KEY_PREFIX = "sgs"
ATTEMPTS = 8
_FENCING_LOG = logging.getLogger(f"{__name__}.writer")
_FENCING_LOG.setLevel(logging.CRITICAL + 1)
FENCED = (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH)
# Now and then the broker (Kafka 4.1) answers a commit that races another writer's fencing with an unknown server
# error ("EndTxn commit failed: Unknown broker error"): whether it took is not known, so it is treated as fenced —
# read again, apply again. Every change is idempotent for that (a key already there is not added twice).
OUTCOME_UNKNOWN = (KafkaError.UNKNOWN,)


class ChangeRefusedError(ValueError):
    """A change of the directory that cannot be made (unknown department, one already registered), in Chinese."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    secret_sha256: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    keys: tuple[ApiKey, ...]
    webhook_url: str | None
    updated_at: datetime

    def as_record(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "keys": [dataclasses.asdict(key) for key in self.keys],
            "webhook_url": self.webhook_url,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Department:
        keys = tuple(ApiKey(**key) for key in record["keys"])
        return cls(record["code"], record["name"], keys, record["webhook_url"], record["updated_at"])


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(now: datetime, token: Callable[[int], str] = secrets.token_urlsafe) -> tuple[str, ApiKey]:
    """A new key: the text to hand to the department (once) and what is stored of it."""
    key_id, secret = token(6).replace("_", "x").replace("-", "y"), token(32)
    return f"{KEY_PREFIX}_{key_id}_{secret}", ApiKey(key_id, _digest(secret), now)


def with_key(department: Department, key: ApiKey, now: datetime) -> Department:
    if any(held.key_id == key.key_id for held in department.keys):
        return department  # applied again after a commit whose outcome was not known
    return dataclasses.replace(department, keys=(*department.keys, key), updated_at=now)


def with_new_key(department: Department, now: datetime) -> tuple[str, Department]:
    text, key = issue_key(now)
    return text, with_key(department, key, now)


def with_key_revoked(department: Department, key_id: str, now: datetime) -> Department:
    if not any(key.key_id == key_id and key.active for key in department.keys):
        return department  # revoked already (or never held): nothing changes
    keys = tuple(
        dataclasses.replace(key, revoked_at=now) if key.key_id == key_id and key.active else key
        for key in department.keys
    )
    return dataclasses.replace(department, keys=keys, updated_at=now)


def split_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret) of a key's text `sgs_<key id>_<secret>`, or None when it is not shaped like one."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def matches(key: ApiKey, secret: str) -> bool:
    """An active key whose stored hash is the secret's (compared in constant time)."""
    return key.active and hmac.compare_digest(key.secret_sha256, _digest(secret))


def authenticate(presented: str, by_key_id: Mapping[str, Department]) -> Department | None:
    """The department whose active key `presented` is, or None (unknown, malformed, wrong or revoked)."""
    split = split_key(presented)
    department = by_key_id.get(split[0]) if split else None
    if split is None or department is None:
        return None
    key_id, secret = split
    return department if any(key.key_id == key_id and matches(key, secret) for key in department.keys) else None


def key_index(departments: Iterable[Department]) -> dict[str, Department]:
    return {key.key_id: department for department in departments for key in department.keys}


class DepartmentDirectory:
    """The departments topic read into memory; `follow()` keeps it current in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = Topics(settings.topic_prefix).departments
        self._codec = AvroCodec(settings.registry, "department")
        self._departments: dict[str, Department] = {}
        self._by_key: dict[str, Department] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next: dict[int, int] = {}  # partition -> where load() stopped reading

    # --- reading ---------------------------------------------------------------------------------------

    def load(self, timeout: float = 15.0) -> DepartmentDirectory:
        """Read the whole topic (it is small and compacted) up to its current end."""
        consumer = self._consumer()
        try:
            ends = self._assign_from_start(consumer, timeout)
            give_up = time.monotonic() + timeout
            # Positions, not the offsets of the records read: the log also holds transaction markers.
            while ends:
                message = consumer.poll(0.2)
                if message is not None:
                    self._apply(message)
                for position in consumer.position([TopicPartition(self.topic, p) for p in ends]):
                    if position.offset >= ends[position.partition]:
                        self._next[position.partition] = ends.pop(position.partition)
                if ends and time.monotonic() > give_up:
                    raise TimeoutError(f"the departments topic {self.topic} did not answer within {timeout:.0f} s")
        finally:
            consumer.close()
        return self

    def follow(self) -> None:
        """Apply every later change as it arrives, until `close()`: from where `load()` stopped, not from the
        start again, which would bring back for a moment each department's older records (a revoked key)."""
        consumer = self._consumer()
        self._assign_from_start(consumer, 15.0, start=self._next)

        def run() -> None:
            try:
                while not self._stop.is_set():
                    message = consumer.poll(0.5)
                    if message is not None:
                        self._apply(message)
            finally:
                consumer.close()

        self._thread = threading.Thread(target=run, name="departments", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def get(self, code: str) -> Department | None:
        return self._departments.get(code)

    def all(self) -> list[Department]:
        return sorted(self._departments.values(), key=lambda d: d.code)

    def authenticate(self, presented: str) -> Department | None:
        return authenticate(presented, self._by_key)

    def owner_of_key(self, key_id: str) -> Department | None:
        return self._by_key.get(key_id)

    # --- writing (the operator's CLI) ----------------------------------------------------------------

    def save(self, department: Department) -> None:
        """Write `department` as it is, whatever its latest record holds (set-up and tests; operators' changes
        go through `update`)."""
        self.update(department.code, lambda _latest: department)

    def update(self, code: str, change: Callable[[Department | None], Department]) -> Department:
        """Apply `change` to department `code`'s latest record and write the result, as one step against
        anyone else changing the same department at the same moment (two operators issuing a key each: both
        keys must work, neither may overwrite the other's).

        Kafka has no compare-and-set, so a transactional producer whose id is the department's serves as its
        lock: `init_transactions` fences any earlier writer of that department (its commit fails) and waits
        until a transaction it had committed is complete, and only then is the topic read (read-committed) and
        `change` applied. A writer fenced in turn starts again from a fresh read. `change` may raise
        `ChangeRefusedError`.
        """
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0.1, 0.3 * attempt))  # noqa: S311 - jitter, so two writers fencing each other drift apart
            producer = Producer(
                {
                    "bootstrap.servers": self.settings.kafka_servers,
                    "transactional.id": f"{self.settings.topic_prefix}departments-{code}",
                    "logger": _FENCING_LOG,  # a fenced writer is expected here, and retried, not a fatal error
                }
            )
            try:
                producer.init_transactions(30)
                self.load()
                department = change(self.get(code))
                producer.begin_transaction()
                producer.produce(self.topic, key=code, value=self._codec.encode(self.topic, department.as_record()))
                producer.commit_transaction(30)
            except KafkaException as exc:
                error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if error is not None and error.code() in (*FENCED, *OUTCOME_UNKNOWN):
                    continue  # another writer of this department came between: read again, apply again
                raise RuntimeError(f"Kafka did not take the change of {code}: {exc}") from exc
            with self._lock:
                self._put(department)
            return department
        raise RuntimeError(f"department {code} kept changing under {ATTEMPTS} attempts; try again")

    # --- internals -------------------------------------------------------------------------------------

    def _consumer(self) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": self.settings.kafka_servers,
                "group.id": f"{self.settings.topic_prefix}departments-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",  # a change whose writer was fenced never took effect
                "auto.offset.reset": "earliest",  # an offset no longer in the log: everything there is
            }
        )

    def _assign_from_start(
        self, consumer: Consumer, timeout: float, start: Mapping[int, int] | None = None
    ) -> dict[int, int]:
        """Assign every partition from offset 0 (or `start`'s); return the partitions that hold anything, with
        their ends."""
        metadata = consumer.list_topics(self.topic, timeout=timeout).topics[self.topic]
        if metadata.error is not None:
            raise RuntimeError(f"the departments topic {self.topic} is missing: run `sgs topics ensure`")
        ends = filled_ends(consumer, self.topic, metadata.partitions, timeout)
        start = start or {}
        consumer.assign([TopicPartition(self.topic, p, start.get(p, 0)) for p in metadata.partitions])
        return ends

    def _apply(self, message: Any) -> None:
        if message.error() or message.value() is None:
            return
        department = Department.from_record(self._codec.decode(self.topic, message.value()))
        with self._lock:
            self._put(department)

    def _put(self, department: Department) -> None:
        self._departments[department.code] = department
        self._by_key = key_index(self._departments.values())


def new_department(code: str, name: str, webhook_url: str | None, now: datetime) -> tuple[str, Department]:
    """A department with its first key (the text to hand over, once)."""
    return with_new_key(Department(code, name, (), webhook_url, now), now)


def utc_now() -> datetime:
    return datetime.now(UTC)
