"""`sgs stack` against the real servers: status, idempotent up, and no half-started stack on failure."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sgs.config import Settings
from sgs.deploy.local import processes
from sgs.deploy.local.errors import StackError
from sgs.deploy.local.stack import LocalStack
from tests.integration.conftest import free_port


def sgs(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.to_env()}
    return subprocess.run(
        [sys.executable, "-m", "sgs.cli.main", *args], env=env, capture_output=True, text=True, check=False
    )


def test_status_reports_every_server_healthy(stack: LocalStack, settings: Settings) -> None:
    result = sgs(settings, "stack", "status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {s["name"]: s["state"] for s in json.loads(result.stdout)} == {
        "kafka": "healthy",
        "elasticsearch": "healthy",
        "registry": "healthy",
    }


def test_up_on_a_running_stack_says_so_and_succeeds(stack: LocalStack, settings: Settings) -> None:
    result = sgs(settings, "stack", "up")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("already running") == 3


def isolated(stack: LocalStack, state_dir: Path, **overrides: Any) -> LocalStack:
    """A second stack beside the session's: its own state directory and free ports unless overridden."""
    ports = {
        name: free_port()
        for name in ("kafka_port", "kafka_controller_port", "elasticsearch_port", "elasticsearch_transport_port")
    }
    return LocalStack(dataclasses.replace(stack.settings, state_dir=state_dir, **{**ports, **overrides}))


def test_a_taken_port_fails_clearly_and_leaves_nothing_running(stack: LocalStack, tmp_path: Path) -> None:
    # A second stack in its own state directory: Kafka can start, Elasticsearch's port is taken.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        second = isolated(stack, tmp_path, elasticsearch_port=taken)
        with pytest.raises(StackError, match=f"port {taken} on 127.0.0.1 is taken"):
            second.up(lambda message: None)
    assert processes.running(second.kafka.pid_file) is None
    assert all(status.pid is None for status in second.status())


def test_missing_java_is_named(stack: LocalStack, tmp_path: Path) -> None:
    broken = isolated(stack, tmp_path, java_home="/nonexistent/jdk")
    with pytest.raises(StackError, match=r"Kafka needs Java 17\+; found: /nonexistent/jdk \(not a JDK\)"):
        broken.up(lambda message: None)
