"""`sgs publish` as a clerk runs it, against the real stack: a file published, killed mid-file, published again."""

from __future__ import annotations

import csv
import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors.search_indices import IndexNames, public_query_filter
from sgs.connectors.simulate import authorities, decision
from sgs.core.dates import CHINA_TZ
from sgs.core.docnum import decision_id
from sgs.streams.topics import Topics
from tests.integration.conftest import WorkerProcess, free_port
from tests.integration.kafka_io import read_all
from tests.integration.test_gateway import submitted_count
from tests.integration.waiting import wait_for

ROWS = 3000


def write_template(path: Path, rows: int, first_serial: int) -> tuple[str, list[str]]:
    """A GBK CSV of one department's licences under the national template's Chinese headers."""
    import random

    from sgs.core.fields import fields_of

    rng = random.Random(first_serial)
    office = authorities(rng)[5]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    records = [decision(rng, "licence", office, first_serial + n, decided) for n in range(rows)]
    names = [f.name for f in fields_of("licence")]
    zh = {f.name: f.zh for f in fields_of("licence")}
    with path.open("w", encoding="gbk", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([zh[name] for name in names])
        for record in records:
            writer.writerow([record.get(name, "") for name in names])
    ids = [decision_id("licence", r["authority_code"], r["document_number"]) or "" for r in records]
    return office[1], ids


def publish(settings: Settings, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **settings.to_env()}
    command = [sys.executable, "-m", "sgs.cli.main", "publish", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_file_killed_mid_way_and_published_again_publishes_nothing_twice(
    settings: Settings, worker: WorkerProcess, tmp_path: Path
) -> None:
    path = tmp_path / "许可.csv"
    department, ids = write_template(path, ROWS, first_serial=910_000)
    before = submitted_count(settings)

    first = publish(settings, "--department", department, str(path))
    while submitted_count(settings) == before and first.poll() is None:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    sent_by_first = submitted_count(settings) - before
    assert sent_by_first > 0, f"the first run sent nothing before it was killed: {first.communicate()[1]}"

    again = publish(settings, "--department", department, str(path))
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, out + err
    assert f"读取 {ROWS} 行，无效 0，已发布 {ROWS}，发送失败 0" in out

    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)

    def all_public() -> bool:
        es.indices.refresh(index=names.public_alias("licence"))
        query = {"bool": {"filter": [public_query_filter(), {"ids": {"values": ids}}]}}
        return int(es.count(index=names.public_alias("licence"), query=query)["count"]) == ROWS

    wait_for(all_public, timeout=240, what=f"all {ROWS} licences of the file public")
    # Every decision reached the current-state topic exactly once: the second run's rows were duplicates.
    wanted = set(ids)
    current = [key for key, _ in read_all(settings, Topics(settings.topic_prefix).current, "current") if key in wanted]
    assert len(current) == len(wanted) == ROWS, (len(current), sent_by_first)


def test_publishing_fails_clearly_when_kafka_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    department, _ = write_template(path, 3, first_serial=920_000)
    unreachable = dataclasses.replace(settings, kafka_bootstrap=f"127.0.0.1:{free_port()}")  # nothing listens
    result = publish(unreachable, "--department", department, str(path))
    out, err = result.communicate(timeout=60)
    assert result.returncode == 2 and "无法连接 Kafka" in err, out + err


def test_publishing_under_a_prefix_no_platform_uses_is_refused_not_sent_to_a_new_topic(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "p.csv"
    department, _ = write_template(path, 3, first_serial=921_000)
    mistyped = dataclasses.replace(settings, topic_prefix=f"{settings.topic_prefix}typo.")
    result = publish(mistyped, "--department", department, str(path))
    out, err = result.communicate(timeout=60)
    assert result.returncode == 2 and "没有主题" in err, out + err


def test_a_correction_listed_right_after_its_original_wins_even_within_one_millisecond(
    settings: Settings, worker: WorkerProcess, tmp_path: Path
) -> None:
    """Versions default to the time in milliseconds; a file's rows share one. The later row of a decision must
    still win: it is the clerk's correction (the hostile test's file kept the typo)."""
    import random

    from sgs.connectors.importer import import_file
    from sgs.core.fields import fields_of

    rng = random.Random(920_000)
    office = authorities(rng)[3]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    original = decision(rng, "penalty", office, 920_001, decided) | {"penalty_categories": "罚款", "fine_amount": "5"}
    other = decision(rng, "penalty", office, 920_002, decided)
    corrected = original | {"fine_amount": "0.5"}
    names = [f.name for f in fields_of("penalty")]
    zh = {f.name: f.zh for f in fields_of("penalty")}
    path = tmp_path / "处罚.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([zh[name] for name in names])
        for record in (original, other, corrected):
            writer.writerow([record.get(name, "") for name in names])
    moment = datetime.now(CHINA_TZ)
    summary = import_file(path, department_code=office[1], publish_to=settings, clock=lambda: moment)
    assert (summary.read, summary.invalid, summary.published) == (3, 0, 3)

    wanted = decision_id("penalty", original["authority_code"], original["document_number"])
    sent = [v for _, v in read_all(settings, Topics(settings.topic_prefix).submitted, "submission", keys={wanted})]
    versions = [v["version"] for v in sent]
    assert len(versions) == 2 and versions[1] == versions[0] + 1, versions

    es, index = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix).public_alias("penalty")

    def corrected_public() -> bool:
        found = es.search(index=index, query={"ids": {"values": [wanted]}}, ignore_unavailable=True)["hits"]["hits"]
        return bool(found) and found[0]["_source"].get("fine_amount") == "0.5"

    wait_for(corrected_public, timeout=120, what="the corrected fine public")
