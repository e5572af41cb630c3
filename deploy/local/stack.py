"""The local stack: Kafka (KRaft), Elasticsearch and the schema registry on loopback, for development and tests.

`up` is idempotent (a healthy running server is left alone), starts Kafka and Elasticsearch together and the
registry once Kafka answers (it keeps its schemas in Kafka), and waits until each is healthy. If anything fails
it stops what this call started, so no half-started stack is left behind. `down` stops only processes whose
pid files this stack wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sgs.config import Settings
from sgs.deploy.local import processes
from sgs.deploy.local.artifacts import Artifacts, fetch, pinned_versions
from sgs.deploy.local.errors import StackError
from sgs.deploy.local.servers import Elasticsearch, Kafka, Registry, Server

Report = Callable[[str], None]


@dataclass(frozen=True)
class ServerStatus:
    name: str
    label: str
    version: str
    address: str
    pid: int | None
    healthy: bool
    log_path: Path

    @property
    def state(self) -> str:
        if self.pid is None:
            return "stopped"
        return "healthy" if self.healthy else "unhealthy"


class LocalStack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.artifacts = Artifacts(settings.cache_dir, pinned_versions())
        self.kafka = Kafka(settings, self.artifacts)
        self.elasticsearch = Elasticsearch(settings, self.artifacts)
        self.registry = Registry(settings, self.artifacts)

    @property
    def servers(self) -> tuple[Server, ...]:
        return (self.kafka, self.elasticsearch, self.registry)

    def server(self, name: str) -> Server:
        for server in self.servers:
            if server.name == name:
                return server
        raise StackError(f"no server named {name!r}; choose from {', '.join(s.name for s in self.servers)}")

    def fetch(self, report: Report) -> None:
        missing = self.artifacts.missing()
        if missing:
            report(f"fetching {', '.join(missing)} from Maven Central into {self.settings.cache_dir} …")
        fetch(self.artifacts, self.settings.state_dir / "fetch.log")

    def status(self) -> list[ServerStatus]:
        result = []
        for server in self.servers:
            record = processes.running(server.pid_file)
            healthy = record is not None and server.healthy()
            result.append(
                ServerStatus(
                    server.name,
                    server.label,
                    server.version,
                    server.address,
                    record.pid if record else None,
                    healthy,
                    server.log_path,
                )
            )
        return result

    def up(self, report: Report) -> None:
        self.fetch(report)
        started: list[Server] = []
        try:
            first: tuple[Server, ...] = (self.kafka, self.elasticsearch)
            waiting = [s for s in first if self._start(s, report, started)]
            # The registry keeps its schemas in Kafka: start it as soon as Kafka answers, beside Elasticsearch.
            self._wait_healthy([s for s in waiting if s is self.kafka], report)
            waiting = [s for s in waiting if s is not self.kafka]
            if self._start(self.registry, report, started):
                waiting.append(self.registry)
            self._wait_healthy(waiting, report)
        except BaseException:
            for server in reversed(started):
                processes.stop(server.pid_file, timeout=20)
            raise

    def start_one(self, name: str, report: Report) -> None:
        """Start one server (unless it runs) and wait until it is healthy, e.g. a throwaway Kafka in a test."""
        server = self.server(name)
        if self._start(server, report, []):
            self._wait_healthy([server], report)

    def stop_one(self, name: str) -> bool:
        return processes.stop(self.server(name).pid_file, timeout=30)

    def _start(self, server: Server, report: Report, started: list[Server]) -> bool:
        """Start `server` unless it already runs; True when it must be waited for."""
        record = processes.running(server.pid_file)
        if record is not None:
            if server.healthy():
                report(f"{server.label} {server.version} is already running (pid {record.pid}) at {server.address}")
                return False
            report(f"{server.label} is starting or unhealthy (pid {record.pid}); waiting for it")
            return True
        for purpose, port in server.ports.items():
            if not processes.port_free(port):
                raise StackError(
                    f"{server.label}: {purpose} port {port} on 127.0.0.1 is taken by another process "
                    f"(find it with `ss -ltnp 'sport = :{port}'`); choose another with SGS_* port settings"
                )
        argv, env, cwd = server.prepare()
        processes.start(server.pid_file, argv, log_path=server.console_log, env=env, cwd=cwd, user=server.user)
        started.append(server)
        report(f"{server.label} {server.version} starting …")
        return True

    def _wait_healthy(self, servers: list[Server], report: Report) -> None:
        began = time.monotonic()
        pending = list(servers)
        while pending:
            for server in list(pending):
                if processes.running(server.pid_file) is None:
                    raise StackError(f"{server.label} exited during startup; see {server.log_path}")
                if server.healthy():
                    pending.remove(server)
                    elapsed = time.monotonic() - began
                    report(f"{server.label} {server.version} healthy at {server.address} ({elapsed:.1f} s)")
            if pending and time.monotonic() - began > self.settings.startup_timeout:
                names = ", ".join(f"{s.label} (log: {s.log_path})" for s in pending)
                raise StackError(f"not healthy within {self.settings.startup_timeout:.0f} s: {names}")
            if pending:
                time.sleep(0.5)

    def down(self, report: Report) -> None:
        # The registry first: it holds a Kafka consumer and does not stop promptly once Kafka is gone.
        for server in (self.registry, self.elasticsearch, self.kafka):
            if processes.stop(server.pid_file, timeout=30):
                report(f"{server.label} stopped")
            else:
                report(f"{server.label} was not running")
