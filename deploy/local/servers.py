"""The three servers of the local stack: how each is configured, started and asked whether it is healthy."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from sgs.config import Settings
from sgs.deploy.local import processes
from sgs.deploy.local.artifacts import Artifacts
from sgs.deploy.local.errors import StackError
from sgs.deploy.local.java import find_java


def _http_json(url: str, timeout: float = 2.0) -> object | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URL we built
            parsed: object = json.loads(response.read())
            return parsed
    except (urllib.error.URLError, OSError, ValueError):
        return None


@dataclass
class Server(ABC):
    settings: Settings
    artifacts: Artifacts

    name: str = ""
    label: str = ""

    @property
    def home(self) -> Path:
        """This server's data, logs and configuration under the state directory."""
        return self.settings.state_dir / self.name

    @property
    def pid_file(self) -> Path:
        return self.settings.state_dir / "run" / f"{self.name}.pid"

    @property
    def console_log(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def log_path(self) -> Path:
        """The log an operator reads first when this server misbehaves."""
        return self.console_log

    @property
    def user(self) -> str | None:
        return None

    @property
    @abstractmethod
    def version(self) -> str: ...

    @property
    @abstractmethod
    def ports(self) -> dict[str, int]: ...

    @property
    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        """Write configuration, initialize storage; return (argv, environment, working directory)."""

    @abstractmethod
    def healthy(self) -> bool: ...


@dataclass
class Kafka(Server):
    name: str = "kafka"
    label: str = "Kafka"

    @property
    def version(self) -> str:
        return self.artifacts.versions.kafka

    @property
    def ports(self) -> dict[str, int]:
        return {"broker": self.settings.kafka_port, "controller": self.settings.kafka_controller_port}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "server.log"

    def _java(self, heap: str) -> list[str]:
        java = find_java(17, self.settings.java_home, "Kafka")
        logs = self.home / "logs"
        return [
            str(java / "bin" / "java"),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-cp",
            f"{self.artifacts.kafka_libs}/*",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={logs}",
        ]

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        s = self.settings
        data = self.home / "data"
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        data.mkdir(parents=True, exist_ok=True)
        properties = self.home / "server.properties"
        properties.write_text(
            "\n".join(
                [
                    "# Written by `sgs stack up`: a single KRaft node, broker and controller, on loopback.",
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=127.0.0.1:{s.kafka_controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={data}",
                    "num.partitions=4",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    # A lone test consumer should not wait 3 s for companions that never come.
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        (self.home / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            "appender.file.fileName = ${sys:kafka.logs.dir}/server.log\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = info\n"
            "rootLogger.appenderRef.file.ref = file\n"
        )
        if not (data / "meta.properties").exists():
            self._format(properties)
        argv = [*self._java(s.kafka_heap), "kafka.Kafka", str(properties)]
        return argv, dict(os.environ), self.home

    def _format(self, properties: Path) -> None:
        tool = [*self._java("256m"), "kafka.tools.StorageTool"]
        cluster_id = subprocess.run([*tool, "random-uuid"], capture_output=True, text=True, check=False)
        formatted = subprocess.run(
            [*tool, "format", "-t", cluster_id.stdout.strip(), "-c", str(properties), "--standalone"],
            capture_output=True,
            text=True,
            check=False,
        )
        if cluster_id.returncode != 0 or formatted.returncode != 0:
            raise StackError(
                f"formatting Kafka's storage failed: {(cluster_id.stderr + formatted.stderr).strip()[-500:]}"
            )

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if processes.port_free(self.settings.kafka_port):
            return False  # nothing listens yet; spare librdkafka's connection-refused complaints
        admin = AdminClient({"bootstrap.servers": self.address, "socket.timeout.ms": 2000, "log_level": 0})
        try:
            return bool(admin.list_topics(timeout=2).brokers)
        except Exception:
            return False


@dataclass
class Elasticsearch(Server):
    name: str = "elasticsearch"
    label: str = "Elasticsearch"

    @property
    def version(self) -> str:
        return self.artifacts.versions.elasticsearch

    @property
    def ports(self) -> dict[str, int]:
        return {"http": self.settings.elasticsearch_port, "transport": self.settings.elasticsearch_transport_port}

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.settings.elasticsearch_port}"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "sgs-local.log"

    @property
    def user(self) -> str | None:
        # Elasticsearch refuses to run as root.
        return self.settings.elasticsearch_user if os.geteuid() == 0 else None

    def _ensure_user(self, user: str) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(user)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                check=True,
                capture_output=True,
            )
            return pwd.getpwnam(user)

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        s = self.settings
        java = find_java(17, s.java_home, "Elasticsearch")
        es_home = self.artifacts.elasticsearch_home
        config, data, logs = self.home / "config", self.home / "data", self.home / "logs"
        if self.user is not None:
            # The unprivileged user cannot read root's cache: give it its own copy of the distribution.
            copy = self.home / f"home-{self.version}"
            if not copy.exists():
                shutil.copytree(es_home, copy, symlinks=True)
            es_home = copy
        if not config.exists():
            shutil.copytree(es_home / "config", config)
        data.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        (config / "elasticsearch.yml").write_text(
            "# Written by `sgs stack up`: one node on loopback, no security (local development only).\n"
            "cluster.name: sgs-local\n"
            "node.name: sgs-local-1\n"
            "network.host: 127.0.0.1\n"
            f"http.port: {s.elasticsearch_port}\n"
            f"transport.port: {s.elasticsearch_transport_port}\n"
            "discovery.type: single-node\n"
            "xpack.security.enabled: false\n"
            f"path.data: {data}\n"
            f"path.logs: {logs}\n"
            # A nearly full developer disk must not turn the index read-only in the middle of a test.
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.destructive_requires_name: false\n"
        )
        if self.user is not None:
            account = self._ensure_user(self.user)
            for path in (self.home, config, data, logs, *config.rglob("*"), *data.rglob("*"), *logs.rglob("*")):
                os.chown(path, account.pw_uid, account.pw_gid)
        env = dict(os.environ)
        env.update(
            ES_JAVA_HOME=str(java),
            ES_PATH_CONF=str(config),
            ES_JAVA_OPTS=f"-Xms{s.elasticsearch_heap} -Xmx{s.elasticsearch_heap}",
        )
        env.pop("JAVA_HOME", None)
        return [str(es_home / "bin" / "elasticsearch")], env, self.home

    def healthy(self) -> bool:
        # The minimal distribution has no rest-root module: `GET /` does not answer, cluster health does.
        health = _http_json(f"{self.address}/_cluster/health")
        return isinstance(health, dict) and health.get("status") in ("green", "yellow")


@dataclass
class Registry(Server):
    name: str = "registry"
    label: str = "Schema registry (Apicurio)"

    @property
    def version(self) -> str:
        return self.artifacts.versions.apicurio

    @property
    def ports(self) -> dict[str, int]:
        return {"http": self.settings.registry_port, "management": self.settings.registry_management_port}

    @property
    def address(self) -> str:
        return self.settings.registry

    def prepare(self) -> tuple[list[str], dict[str, str], Path]:
        s = self.settings
        java = find_java(21, s.registry_java_home, "The schema registry (Apicurio 3)")
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        argv = [
            str(java / "bin" / "java"),
            f"-Xmx{s.registry_heap}",
            "-Dquarkus.http.host=127.0.0.1",
            f"-Dquarkus.http.port={s.registry_port}",
            "-Dquarkus.management.host=127.0.0.1",
            f"-Dquarkus.management.port={s.registry_management_port}",
            # Schemas are kept in Kafka, so ids named by stored messages survive a registry restart.
            "-Dapicurio.storage.kind=kafkasql",
            f"-Dapicurio.kafkasql.bootstrap.servers=127.0.0.1:{s.kafka_port}",
            f"-Dapicurio.kafkasql.topic={s.topic_prefix}registry.journal",
            "-jar",
            str(self.artifacts.registry_home / "quarkus-run.jar"),
        ]
        return argv, dict(os.environ), self.home

    def healthy(self) -> bool:
        return isinstance(_http_json(f"{self.address}/subjects"), list)
