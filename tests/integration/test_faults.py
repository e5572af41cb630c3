"""Faults against the real stack: a worker killed mid-stream, two workers with one dying, Elasticsearch down
for a while under load. After each, nothing is lost and nothing duplicated (see feeding.assert_converged)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors.search_indices import IndexNames
from sgs.deploy.local import processes
from sgs.deploy.local.stack import LocalStack
from tests.integration.conftest import WorkerProcess, free_port
from tests.integration.feeding import assert_converged, feed
from tests.integration.waiting import wait_for


def isolated(settings: Settings, state_dir: Path) -> Settings:
    """Topics, indices, consumer group and worker state of their own."""
    run = uuid.uuid4().hex[:6]
    return dataclasses.replace(
        settings,
        topic_prefix=f"{settings.topic_prefix}{run}.",
        index_prefix=f"{settings.index_prefix}{run}-",
        worker_web_port=free_port(),
        state_dir=state_dir,
    )


def ready(settings: Settings, worker: WorkerProcess) -> None:
    es = Elasticsearch(settings.elasticsearch)

    def prepared() -> bool:
        # Every alias: the worker creates them one by one, and one still missing when a test stops
        # Elasticsearch would stop the worker at its start instead of testing what the test means to.
        assert worker.alive(), f"the worker exited; see {worker.log_path}"
        return all(es.indices.exists_alias(name=alias) for alias in IndexNames(settings.index_prefix).aliases)

    wait_for(prepared, timeout=60, what="the worker to prepare its topics and indices")


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.close()


def test_a_worker_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(
    stack: LocalStack, settings: Settings, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    mine = isolated(settings, tmp_path)
    worker = WorkerProcess(mine, "worker-killed")
    workers.append(worker)
    ready(mine, worker)
    fed = feed(mine, decisions=150, seed=11)
    time.sleep(1.0)  # the worker is in the middle of the feed
    worker.kill()
    worker.restart()
    assert_converged(mine, fed, worker.alive)


def test_two_workers_share_the_partitions_and_one_dies(
    stack: LocalStack, settings: Settings, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    mine = isolated(settings, tmp_path / "first")
    first = WorkerProcess(mine, "worker-pair-first")
    second = WorkerProcess(
        dataclasses.replace(mine, worker_web_port=free_port(), state_dir=tmp_path / "second"), "worker-pair-second"
    )
    workers += [first, second]
    ready(mine, first)
    fed = feed(mine, decisions=150, seed=12)
    time.sleep(1.0)
    second.kill()
    assert_converged(mine, fed, first.alive)


def test_elasticsearch_stopped_under_load_and_started_again(
    stack: LocalStack, settings: Settings, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    mine = isolated(settings, tmp_path)
    worker = WorkerProcess(mine, "worker-es-outage")
    workers.append(worker)
    ready(mine, worker)
    fed = feed(mine, decisions=150, seed=13)
    time.sleep(0.5)
    assert processes.stop(stack.elasticsearch.pid_file, timeout=30)
    try:
        time.sleep(20)  # the publisher keeps retrying; nothing is acknowledged
        assert worker.alive()
    finally:
        stack.up(lambda message: None)
    assert_converged(mine, fed, worker.alive)
