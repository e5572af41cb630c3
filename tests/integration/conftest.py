"""One real local stack per test session, started if it is not up, with names private to the session.

There is no skipping here: when the stack cannot be started, every integration test errors with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sgs.config import Settings
from sgs.deploy.local.stack import LocalStack
from tests.unit.factories import make_uscc_for

ARTIFACTS = Path(os.environ.get("SGS_TEST_ARTIFACTS", "test-artifacts"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# The session's publication rules: periods and a negative list of their own for one department that only the
# publication-rules tests publish as, so that every other test sees the national defaults.
RULES_DEPARTMENT = make_uscc_for("11411500", "MB900001")
PUBLICATION_RULES = f"""
departments:
  {RULES_DEPARTMENT}: {{category_months: {{警告: 12}}, floor_keywords: [食品安全]}}
negative_list:
  - reason: 涉及国家秘密
    departments: [{RULES_DEPARTMENT}]
    keywords: [国家秘密]
  - reason: 不公开法定代表人
    departments: [{RULES_DEPARTMENT}]
    kind: penalty
    fields: [法定代表人]
"""


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    run = uuid.uuid4().hex[:8]
    rules = tmp_path_factory.mktemp("rules") / "publication-rules.yaml"
    rules.write_text(PUBLICATION_RULES, encoding="utf-8")
    return dataclasses.replace(
        Settings.from_env(),
        topic_prefix=f"test{run}.",
        index_prefix=f"test{run}-",
        worker_web_port=free_port(),
        publication_rules_path=rules,
    )


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[LocalStack]:
    local = LocalStack(settings)
    was_up = all(s.healthy for s in local.status())
    local.up(lambda message: print(message, file=sys.stderr))
    yield local
    _delete_session_data(settings)
    if not was_up:
        local.down(lambda message: None)


def _delete_session_data(settings: Settings) -> None:
    """The session's indices and topics go with it: a stack kept across runs (CI's, a developer's) would
    otherwise gather thousands of shards and partitions, and Elasticsearch refuses new indices past 1,000."""
    from confluent_kafka.admin import AdminClient
    from elasticsearch import Elasticsearch

    try:
        with Elasticsearch(settings.elasticsearch, request_timeout=60) as es:
            es.indices.delete(index=f"{settings.index_prefix}*", expand_wildcards="all", allow_no_indices=True)
        admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
        mine = [t for t in admin.list_topics(timeout=15).topics if t.startswith(settings.topic_prefix)]
        for future in admin.delete_topics(mine, operation_timeout=60).values() if mine else ():
            future.result()
    except Exception as exc:  # the tests' verdict stands; say what was left behind
        left = f"{settings.index_prefix}*, {settings.topic_prefix}*"
        print(f"could not delete the session's indices and topics ({left}): {exc}", file=sys.stderr)


class WorkerProcess:
    """A real `sgs worker` process with its own settings; its output is kept as a test artifact."""

    def __init__(self, settings: Settings, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.log_path = ARTIFACTS / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **self.settings.to_env()}
        command = [sys.executable, "-m", "sgs.cli.main", "worker"]
        return subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to flush or commit anything."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.process = self._start()

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self) -> None:
        self.stop()
        self._log.close()


@pytest.fixture(scope="session")
def worker(stack: LocalStack, settings: Settings) -> Iterator[WorkerProcess]:
    """The session's worker, on the session's topics and indices (the topics made first, as a deployment has
    them before departments publish: `sgs publish` refuses a broker without them)."""
    from sgs.streams.topics import ensure_topics

    ensure_topics(settings)
    process = WorkerProcess(settings, "worker")
    yield process
    process.close()


class ServiceProcess:
    """A real `sgs <command>` HTTP service (gateway, web) on its own free port, ready once `health` answers 200;
    its output is kept as a test artifact."""

    def __init__(self, settings: Settings, command: str, name: str, health: str) -> None:
        import httpx

        port_setting = f"{command}_port"
        ports: dict[str, Any] = {port_setting: free_port()}
        self.settings = dataclasses.replace(settings, **ports)
        self.url = f"http://127.0.0.1:{getattr(self.settings, port_setting)}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self._log = (ARTIFACTS / f"{name}.log").open("ab")
        env = {**os.environ, **self.settings.to_env()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sgs.cli.main", command], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

        def up() -> bool:
            assert self.process.poll() is None, f"sgs {command} exited; see {ARTIFACTS / name}.log"
            try:
                return httpx.get(f"{self.url}{health}", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        from tests.integration.waiting import wait_for

        wait_for(up, timeout=60, what=f"sgs {command} at {self.url}")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
