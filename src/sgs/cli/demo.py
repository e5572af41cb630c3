"""`sgs demo`: the platform running on the local stack, fed by simulated Xinyang departments."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import click

from sgs.config import Settings
from sgs.deploy.local.errors import StackError
from sgs.deploy.local.stack import LocalStack


@click.command()
@click.option("-n", "--decisions", default=200, show_default=True, help="How many decisions the departments make.")
@click.option("--once", is_flag=True, help="Exit after the feed instead of keeping the worker running.")
def demo(decisions: int, once: bool) -> None:
    """演示 — start the stack and a worker, feed decisions of simulated 信阳市 departments, show where to look.

    The feed is mostly timely decisions, some late, some invalid (refused by the SDK with reasons) and corrected
    later, duplicates, a 文号 in another bracket form, revocations, and one department trying to publish
    another's decision. Without --once the worker keeps running until Ctrl-C; the servers stay up afterwards.
    """
    settings = Settings.from_env()
    try:
        LocalStack(settings).up(lambda message: click.echo(message, err=True))
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    log_path = settings.state_dir / "demo" / "worker.log"
    worker = _start_worker(settings, log_path)
    try:
        click.echo(f"worker started (pid {worker.pid}, log {log_path})")
        _canary(settings)
        expected = _feed(settings, decisions)
        _wait_published(settings, expected, worker)
        _summary(settings)
        if not once:
            click.echo("\nthe worker keeps running; Ctrl-C stops it")
            worker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sgs.cli.main", "worker"],
            env={**os.environ, **settings.to_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _canary(settings: Settings) -> None:
    from sgs.connectors import canary as canary_client

    began = time.monotonic()
    canary_id = canary_client.send(settings)
    canary_client.wait_found(settings, canary_id, timeout=120)
    click.echo(f"canary: Kafka → registry → worker → Elasticsearch in {time.monotonic() - began:.1f} s")


def _feed(settings: Settings, decisions: int) -> set[str]:
    """Publish the feed through the SDK, one publisher per department; return the decision ids to be public."""
    from sgs.connectors.publisher import Publisher
    from sgs.connectors.simulate import demo_feed
    from sgs.core.dates import CHINA_TZ

    # Each run numbers its decisions after the last run's, so a second demo adds decisions instead of repeating.
    run = int(time.time())
    steps = demo_feed(decisions, datetime.now(CHINA_TZ).date(), seed=run, first_serial=run % 100_000 * 10)
    publishers: dict[str, Publisher] = {}
    public: set[str] = set()
    notes: Counter[str] = Counter()
    refused: list[str] = []
    for step in steps:
        publisher = publishers.setdefault(step.department_code, Publisher(step.department_code, settings=settings))
        if step.operation == "revoke":
            assert step.decision_id is not None
            publisher.revoke(step.decision_id, version=step.version)
            public.discard(step.decision_id)
        else:
            assert step.record is not None
            receipt = publisher.publish(step.kind, step.record, version=step.version)
            if receipt.status == "invalid":
                reason = "; ".join(f"{p.field}: {p.message}" for p in receipt.problems[:2])
                refused.append(f"  {step.record.get('document_number')}  {reason}")
            elif receipt.decision_id:
                public.add(receipt.decision_id)
        notes[step.note] += 1
    failed = [r for p in publishers.values() for r in p.flush() if r.status == "failed"]
    click.echo(
        f"\n{len(steps)} submissions from {len(publishers)} departments: "
        + ", ".join(f"{note} {count}" for note, count in notes.most_common())
    )
    click.echo(f"refused by the SDK before sending ({len(refused)}; the clerk sees why):")
    for line in refused[:5]:
        click.echo(line)
    if failed:
        click.echo(f"{len(failed)} not acknowledged by the broker: {failed[0].error}")
    return public


def _wait_published(settings: Settings, expected: set[str], worker: subprocess.Popen[bytes]) -> None:
    from elasticsearch import Elasticsearch

    from sgs.connectors.search_indices import IndexNames, public_query_filter

    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)
    aliases = [names.public_alias("licence"), names.public_alias("penalty")]
    began = time.monotonic()
    while time.monotonic() - began < 180 and worker.poll() is None:
        found = es.mget(index=names.archive, ids=sorted(expected))["docs"] if expected else []
        if all(doc.get("found") for doc in found):
            break
        time.sleep(0.5)
    es.indices.refresh(index=aliases)
    count = es.count(index=aliases, query={"bool": {"filter": [public_query_filter()]}})["count"]
    click.echo(f"\nsearchable after {time.monotonic() - began:.1f} s: {count} public decisions in {', '.join(aliases)}")


def _summary(settings: Settings) -> None:
    from elasticsearch import Elasticsearch

    from sgs.connectors.search_indices import IndexNames

    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)
    time.sleep(2)  # the deadline tracker follows the publisher by a moment
    es.indices.refresh(index=names.deadlines)
    states = es.search(index=names.deadlines, size=0, aggs={"s": {"terms": {"field": "state"}}})
    buckets = {b["key"]: b["doc_count"] for b in states["aggregations"]["s"]["buckets"]}
    click.echo("deadline states (7 working days): " + ", ".join(f"{k} {v}" for k, v in sorted(buckets.items())))
    click.echo(
        "\nwhere to look:\n"
        f"  public search   {settings.elasticsearch}/{names.public_alias('penalty')}/_search?q=信阳&pretty\n"
        f"  archive         {settings.elasticsearch}/{names.archive}/_search?pretty\n"
        f"  deadlines       {settings.elasticsearch}/{names.deadlines}/_search?q=state:published_late&pretty\n"
        f"  metrics         http://127.0.0.1:{settings.worker_web_port}/metrics\n"
        f"  dead letters    Kafka topic {settings.topic_prefix}decisions.rejected at {settings.kafka_servers}\n"
        "  servers         sgs stack status · sgs stack logs kafka|elasticsearch|registry · sgs stack down"
    )
