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
@click.option("--once", is_flag=True, help="Exit after the feed instead of keeping the platform running.")
def demo(decisions: int, once: bool) -> None:
    """演示 — start the stack, a worker, the gateway and the portal; feed simulated 信阳市 departments.

    The feed is mostly timely decisions, some late, some invalid (refused by the SDK with reasons) and corrected
    later, duplicates, a 文号 in another bracket form, revocations, one department trying to publish another's
    decision, a batch through the HTTP gateway and a licensed company penalised by another department (a
    sanction alert). Without --once everything keeps running until Ctrl-C; the servers stay up afterwards.
    """
    settings = Settings.from_env()
    try:
        LocalStack(settings).up(lambda message: click.echo(message, err=True))
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    logs = settings.state_dir / "demo"
    processes = [_start(settings, logs, name) for name in ("worker", "gateway", "web")]
    try:
        click.echo("worker, gateway and web started (logs in " + str(logs) + ")")
        _canary(settings)
        expected = _feed(settings, decisions)
        expected |= _through_the_gateway(settings)
        _sanction(settings)
        _wait_published(settings, expected, processes[0])
        _summary(settings, _supervisor_key(settings))
        if not once:
            click.echo("\nthe platform keeps running; Ctrl-C stops it")
            processes[0].wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _start(settings: Settings, logs: Path, command: str) -> subprocess.Popen[bytes]:
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{command}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sgs.cli.main", command],
            env={**os.environ, **settings.to_env()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


DEMO_DEPARTMENT = "信阳市市场监督管理局（演示网关部门）"


def _through_the_gateway(settings: Settings) -> set[str]:
    """One department registered for the gateway, a batch of its decisions over HTTP."""
    import random

    import httpx

    from sgs.connectors.departments import DepartmentDirectory, new_department, utc_now, with_new_key
    from sgs.connectors.simulate import authorities, decision
    from sgs.core.dates import CHINA_TZ
    from sgs.streams.topics import ensure_topics

    rng = random.Random(int(time.time()))
    office = authorities(rng)[1]
    ensure_topics(settings)
    directory = DepartmentDirectory(settings).load()
    known = directory.get(office[1])
    key, department = with_new_key(known, utc_now()) if known else new_department(office[1], office[0], None, utc_now())
    directory.save(department)
    today = datetime.now(CHINA_TZ).date()
    serial = int(time.time()) % 100_000 * 10 + 5_000_000
    batch = [{"kind": "penalty", "record": decision(rng, "penalty", office, serial + n, today)} for n in range(5)]
    url = f"http://{settings.gateway_host}:{settings.gateway_port}"
    for _ in range(120):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    time.sleep(1.5)  # the gateway's directory follows the new key
    response = httpx.post(
        f"{url}/v1/decisions", json={"decisions": batch}, headers={"authorization": f"Bearer {key}"}, timeout=30
    )
    if response.status_code != 202:
        click.echo(f"gateway answered {response.status_code}: {response.text[:300]}")
        return set()
    accepted = {a["decision_id"] for a in response.json()["accepted"]}
    click.echo(f"\ngateway: {office[0]} sent {len(batch)} penalties over HTTP (202, acknowledged by the broker)")
    click.echo(f"  its key (shown once): {key}")
    click.echo(f"  try: curl -H 'Authorization: Bearer {key}' {url}/v1/feedback")
    return accepted


def _sanction(settings: Settings) -> None:
    """A company licensed by one department and penalised by another: a sanction alert (联合惩戒)."""
    import random

    from sgs.connectors.publisher import Publisher
    from sgs.connectors.simulate import authorities, licence, penalty
    from sgs.core.dates import CHINA_TZ

    rng = random.Random(int(time.time()) + 1)
    offices = authorities(rng)
    today = datetime.now(CHINA_TZ).date()
    serial = int(time.time()) % 100_000 * 10 + 7_000_000
    licensed = licence(rng, offices[0], serial, today)
    company = {k: licensed[k] for k in licensed if k.startswith(("subject", "legal_representative"))}
    fined = penalty(rng, offices[3], serial + 1, today) | company
    fined |= {
        "penalty_categories": "罚款、责令停产停业",
        "penalty_content": "罚款贰万元，责令停产停业整顿",
        "fine_amount": "2",
    }
    for office, kind, record in ((offices[0], "licence", licensed), (offices[3], "penalty", fined)):
        with Publisher(office[1], settings=settings) as publisher:
            publisher.publish(kind, record)
    click.echo(f"sanction: {licensed['subject_name']} licensed by {offices[0][0]}, penalised by {offices[3][0]}")


def _supervisor_key(settings: Settings) -> str:
    from datetime import UTC

    from sgs.web.supervisors import SupervisorKeys

    return SupervisorKeys(settings.supervisors_file).add("demo.supervisor", datetime.now(UTC))


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
    from sgs.connectors import search_client
    from sgs.connectors.search_indices import IndexNames, public_query_filter

    es, names = search_client.client(settings.elasticsearch), IndexNames(settings.index_prefix)
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


def _summary(settings: Settings, supervisor_key: str) -> None:
    from sgs.connectors import search_client
    from sgs.connectors.search_indices import IndexNames

    es, names = search_client.client(settings.elasticsearch), IndexNames(settings.index_prefix)
    time.sleep(2)  # the deadline tracker follows the publisher by a moment
    es.indices.refresh(index=names.deadlines)
    states = es.search(index=names.deadlines, size=0, aggs={"s": {"terms": {"field": "state"}}})
    buckets = {b["key"]: b["doc_count"] for b in states["aggregations"]["s"]["buckets"]}
    click.echo("deadline states (7 working days): " + ", ".join(f"{k} {v}" for k, v in sorted(buckets.items())))
    es.indices.refresh(index=names.alerts)
    alerts = es.count(index=names.alerts)["count"]
    web = f"http://{settings.web_host}:{settings.web_port}"
    click.echo(f"sanction alerts: {alerts}")
    click.echo(
        "\nwhere to look:\n"
        f"  public search   {web}/?q=信阳   (API: {web}/api/v1/search?q=信阳)\n"
        f"  dashboard       {web}/dashboard   user demo.supervisor, password {supervisor_key}\n"
        f"  gateway API     http://{settings.gateway_host}:{settings.gateway_port}/docs\n"
        f"  metrics         http://127.0.0.1:{settings.worker_web_port}/metrics (worker), "
        f"http://{settings.gateway_host}:{settings.gateway_port}/metrics, {web}/metrics\n"
        f"  in a terminal   sgs search 信阳 · sgs status --department <code>\n"
        "  servers         sgs stack status · sgs stack logs kafka|elasticsearch|registry · sgs stack down"
    )
