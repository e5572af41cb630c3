"""Departments with their own Kafka producers compress: the worker reads every codec Kafka has.

aiokafka (Faust's client) needs cramjam for lz4, snappy and zstd; without it the worker's fetcher crashed on
the first such batch (UnsupportedCodecError) and took the worker down, again at every restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sgs.config import Settings
from sgs.connectors.publisher import Publisher
from sgs.connectors.simulate import demo_feed
from sgs.core.dates import CHINA_TZ
from tests.integration.conftest import WorkerProcess
from tests.integration.waiting import wait_public

CODECS = ("gzip", "snappy", "lz4", "zstd")


@pytest.mark.parametrize("codec", CODECS)
def test_compressed_submissions_are_published(settings: Settings, worker: WorkerProcess, codec: str) -> None:
    yesterday = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    serial = 700_000 + 1_000 * CODECS.index(codec)
    steps = [s for s in demo_feed(8, yesterday, seed=11, first_serial=serial) if s.note == "timely" and s.record]
    ids: set[str] = set()
    for step in steps[:3]:
        assert step.record is not None
        with Publisher(
            step.department_code, settings=settings, producer_config={"compression.type": codec}
        ) as publisher:
            receipt = publisher.publish(step.kind, step.record)
        assert receipt.status == "accepted" and receipt.decision_id, (receipt.problems, receipt.error)
        ids.add(receipt.decision_id)

    wait_public(settings, ids, ids, worker, what=f"{codec}-compressed submissions public")
