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

import pytest

from sgs.config import Settings
from sgs.deploy.local.stack import LocalStack

ARTIFACTS = Path(os.environ.get("SGS_TEST_ARTIFACTS", "test-artifacts"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def settings() -> Settings:
    run = uuid.uuid4().hex[:8]
    return dataclasses.replace(
        Settings.from_env(),
        topic_prefix=f"test{run}.",
        index_prefix=f"test{run}-",
        worker_web_port=free_port(),
    )


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[LocalStack]:
    local = LocalStack(settings)
    was_up = all(s.healthy for s in local.status())
    local.up(lambda message: print(message, file=sys.stderr))
    yield local
    if not was_up:
        local.down(lambda message: None)


@pytest.fixture(scope="session")
def worker(stack: LocalStack, settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """One `sgs worker` process for the session, its output kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "worker.log").open("wb")
    env = {**os.environ, **settings.to_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "sgs.cli.main", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
