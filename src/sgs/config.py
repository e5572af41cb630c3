"""The one configuration object: every setting sgs reads, from `SGS_*` environment variables.

Nothing else in sgs reads the environment; code takes a `Settings` (or the values it needs) as a parameter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "SGS_"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "sgs"


def _default_state() -> Path:
    # Elasticsearch refuses to run as root, so under root the stack runs it as an unprivileged user, who
    # cannot enter /root: root's state then lives where that user can reach it.
    if os.geteuid() == 0:
        return Path("/var/lib/sgs")
    return Path.home() / ".local" / "state" / "sgs"


# Known to everyone who reads this file: with it, a natural person's key (an HMAC of the ID number) is reversed
# by trying the few million numbers of one region and birth year. `sgs worker` warns while it is in use.
DEVELOPMENT_PERSON_KEY_SECRET = "sgs-local-development-only"  # noqa: S105 - replaced in production


@dataclass(frozen=True)
class Settings:
    """Settings with their defaults; each can be overridden by `SGS_<NAME>` (e.g. `SGS_KAFKA_PORT=19092`)."""

    # Where Maven puts the fetched Kafka, Elasticsearch and registry distributions (outside the repo).
    cache_dir: Path = field(default_factory=_default_cache)
    # Data and logs of the local stack's servers.
    state_dir: Path = field(default_factory=_default_state)
    # Loopback ports of the local stack. Defaults avoid the usual 9092/9200/8080 so that a developer's
    # own servers and the local stack can coexist.
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    elasticsearch_port: int = 19200
    elasticsearch_transport_port: int = 19300
    registry_port: int = 18081
    registry_management_port: int = 18082
    # Heaps sized for a 2-core, 24 GiB machine that also runs the workers and the test suite.
    kafka_heap: str = "768m"
    elasticsearch_heap: str = "1g"
    registry_heap: str = "384m"
    # JDK for Kafka and Elasticsearch (both need Java 17+); empty: `java` on PATH.
    java_home: str = ""
    # JDK for the schema registry (Apicurio 3 needs Java 21+); empty: the newest JDK under /usr/lib/jvm.
    registry_java_home: str = ""
    # The unprivileged user that runs Elasticsearch when the stack is started by root.
    elasticsearch_user: str = "sgs"
    # Seconds `sgs stack up` waits for each server to become healthy.
    startup_timeout: float = 120.0
    # Where the servers are, for clients. Empty: the local stack's loopback addresses.
    kafka_bootstrap: str = ""
    elasticsearch_url: str = ""
    registry_url: str = ""
    # Prefix of every Kafka topic and Elasticsearch index.
    topic_prefix: str = "sgs."
    index_prefix: str = "sgs-"
    # Faust workers: the first worker's web port (metrics, health); partitions and replication of new topics.
    worker_web_host: str = "127.0.0.1"
    worker_web_port: int = 16066
    # The worker's static membership of its consumer group (Kafka's group.instance.id), unique per worker: a
    # worker restarted with the same id takes its partitions back at once, instead of waiting out the session
    # of the process it replaces (60 s after a crash). Empty: <host name>-<worker_web_port>. Static members do
    # not leave the group when stopped: a worker stopped for good hands its partitions over after 60 s.
    worker_id: str = ""
    topic_partitions: int = 4
    topic_replication_factor: int = 1
    # The worker's clock: "" is the system clock; "file:PATH" reads the current time (ISO 8601) from PATH,
    # so that tests and the demo can move time across deadlines and holidays.
    clock: str = ""
    # How often each worker looks for deadlines that passed (seconds).
    deadline_check_interval: float = 5.0
    # Secret for the keyed hash that identifies natural persons without their ID numbers.
    person_key_secret: str = DEVELOPMENT_PERSON_KEY_SECRET
    # Operator-supplied working-day arrangement files (YAML/TOML) that extend chinese-calendar.
    calendar_dir: Path | None = None
    # The publication rules file (YAML): periods per 处罚类别 and per department, and the negative list. Every
    # process that validates or publishes reads it (worker, gateway, SDK, `sgs publish`/`validate`/`reindex`):
    # give them all the same file. Empty: the built-in national defaults, no negative list.
    publication_rules_path: Path | None = None
    # The HTTP ingest gateway: where it listens, how much one request may carry, how fast a department may send.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 16080
    gateway_max_body_bytes: int = 5_000_000
    gateway_max_batch: int = 1000
    gateway_max_upload_bytes: int = 200_000_000
    gateway_rate: float = 2000.0  # decisions per second per department (per gateway process)
    gateway_burst: float = 5000.0
    # The web process: public search (rate limited per client address) and the supervisors' dashboard.
    web_host: str = "127.0.0.1"
    web_port: int = 16090
    web_rate: float = 20.0  # requests per second per client address
    web_burst: float = 60.0
    # Supervisors' dashboard credentials (hashed), kept by `sgs supervisors`; empty: <state_dir>/supervisors.json.
    supervisors_path: Path | None = None
    # npm's node_modules holding ECharts (the dashboard) and Swagger UI (/docs); empty: this checkout's.
    web_assets_path: Path | None = None

    @property
    def supervisors_file(self) -> Path:
        return self.supervisors_path or self.state_dir / "supervisors.json"

    @property
    def web_assets(self) -> Path:
        # `make setup` runs npm ci in deploy/web (src/sgs/deploy is a link to the checkout's deploy/).
        return self.web_assets_path or Path(__file__).resolve().parent / "deploy" / "web" / "node_modules"

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def elasticsearch(self) -> str:
        return self.elasticsearch_url or f"http://127.0.0.1:{self.elasticsearch_port}"

    @property
    def registry(self) -> str:
        """Confluent-compatible schema registry base URL (Apicurio's ccompat API in the local stack)."""
        return self.registry_url or f"http://127.0.0.1:{self.registry_port}/apis/ccompat/v7"

    def to_env(self) -> dict[str, str]:
        """These settings as `SGS_*` variables, to hand to a child process (a worker, a gateway)."""
        return {
            ENV_PREFIX + f.name.upper(): "" if value is None else str(value)
            for f in fields(self)
            for value in [getattr(self, f.name)]
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(f.name, hints[f.name], raw)
        return cls(**values)


def _parse(name: str, hint: Any, raw: str) -> Any:
    try:
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        if hint is Path or hint == (Path | None):
            return Path(raw).expanduser() if raw else None
        return raw
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r}: {exc}") from exc
