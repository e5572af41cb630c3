"""The reading side, measured against the real local Elasticsearch (the stack must be up; no worker needed).

    .venv/bin/python bench/reading.py search     [-n 1000000] [--clients 20] [--requests 3000] [--warm-up 1500]
    .venv/bin/python bench/reading.py dashboard  [--events 200000]

search     N public documents (realistic licences and penalties, `sgs.connectors.simulate`, as the publisher
           writes them) are bulk-indexed into a fresh prefix; a real `sgs web` serves them; C concurrent clients
           send name, unified-code and document-number queries (a third each) to GET /api/v1/search, once
           Elasticsearch has finished the merges the load left (a portal's index is a settled one) and W
           unmeasured requests have warmed its JIT (a restarted node answers 2–4× slower for a thousand queries).
           Prints p50/p95/p99 per query type (goal p95 ≤ 100 ms) and the CPU each process spent per measured
           request: under C closed-loop clients on two cores the p95 is about C / throughput, and the
           throughput is what Elasticsearch, the web process and the load generator spend per request.
dashboard  a year of deadline states (E decisions decided over the last 365 days, mostly on time) and their
           archive documents in a fresh prefix; times GET /dashboard and its three chart APIs (cold, then warm).

Each run deletes its indices at the end (`--keep` keeps them).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from elasticsearch import Elasticsearch, helpers

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.search_indices import IndexNames, ensure_indices
from sgs.connectors.search_writer import documents_for
from sgs.connectors.simulate import records
from sgs.core.calendar import load_calendar
from sgs.core.deadline import deadline as deadline_of
from sgs.core.masking import archive_view, public_view
from sgs.core.validate import validate
from sgs.web.supervisors import SupervisorKeys


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def state(kind: str, record: dict[str, str], sequence: int, today: Any) -> dict[str, Any] | None:
    import json

    result = validate(kind, record, today=today)
    if result.record is None or result.decision_id is None:
        return None
    decision = result.record
    return {
        "decision_id": result.decision_id,
        "kind": kind,
        "sequence": sequence,
        "status": "active",
        "public_document": json.dumps(public_view(decision), ensure_ascii=False),
        "archive_document": json.dumps(archive_view(decision), ensure_ascii=False),
    }


def index_decisions(es: Elasticsearch, names: IndexNames, n: int) -> list[dict[str, str]]:
    """Bulk-index n public decisions (and their archive copies); return a sample of their identities."""
    today = datetime.now(UTC).date()
    sample: list[dict[str, str]] = []
    now = datetime.now(UTC)
    started, done = time.monotonic(), 0
    chunk = 20_000
    for offset in range(0, n, chunk):
        batch = records(min(chunk, n - offset), seed=offset + 1, chinese=False, subjects=chunk // 4)
        actions = []
        for number, (kind, record) in enumerate(batch):
            current = state(kind, record, 1, today)
            if current is None:
                continue
            for write in documents_for(current, names, indexed_at=now):
                actions.append({"_index": write.index, "_id": write.doc_id, "_source": dict(write.document)})
            if number % 200 == 0:
                sample.append(
                    {
                        "name": record["subject_name"],
                        "code": record.get("subject_code", ""),
                        "document_number": record["document_number"].replace("〔", "[").replace("〕", "]"),
                    }
                )
        for ok, item in helpers.streaming_bulk(es, actions, chunk_size=2000, raise_on_error=False):
            if not ok:
                raise RuntimeError(f"bulk refused: {item}")
        done += len(batch)
        say(f"indexed {done:,} of {n:,} decisions ({done / (time.monotonic() - started):,.0f}/s)")
    es.indices.refresh(index=",".join(names.from_current_state))
    return sample


class WebProcess:
    def __init__(self, settings: Settings) -> None:
        self.url = f"http://127.0.0.1:{settings.web_port}"
        env = {**os.environ, **settings.to_env()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sgs.cli.main", "web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            try:
                if httpx.get(f"{self.url}/metrics", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("sgs web did not start")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def elasticsearch_cpu_seconds(es: Elasticsearch) -> float:
    """CPU of the Elasticsearch node(s) so far (its own process statistics; background work included)."""
    nodes = es.nodes.stats(metric="process")["nodes"].values()
    return float(sum(node["process"]["cpu"]["total_in_millis"] for node in nodes)) / 1000


async def load(
    url: str, sample: list[dict[str, str]], clients: int, requests: int, seed: int = 7
) -> dict[str, list[float]]:
    """C clients, each sending its next request when the last is answered. aiohttp rather than httpx: the
    clients share the two cores with the server they measure, and httpx took a third of them."""
    kinds = ("name", "code", "document_number")
    latencies: dict[str, list[float]] = defaultdict(list)
    rng = random.Random(seed)
    plan = [(kinds[i % 3], rng.choice(sample)) for i in range(requests)]
    plan = [(k, s) for k, s in plan if s[k]]

    async def client(http: aiohttp.ClientSession) -> None:
        while plan:
            kind, identity = plan.pop()
            params = {"q": identity[kind]} if kind != "code" else {"code": identity["code"]}
            started = time.perf_counter()
            async with http.get("/api/v1/search", params=params) as response:
                body = await response.read()
            latencies[kind].append(time.perf_counter() - started)
            if response.status != 200 or not json.loads(body)["total"]:
                raise RuntimeError(f"{kind} query {params} answered {response.status}: {body[:200]!r}")

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:
        async with http.get("/api/v1/search", params={"q": sample[0]["name"]}) as warm_up:
            await warm_up.read()
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies


def sample_of(es: Elasticsearch, names: IndexNames) -> list[dict[str, str]]:
    """Identities to query, from decisions already indexed (for --reuse)."""
    found = es.search(index=names.public_alias("penalty"), size=2000, query={"match_all": {}})["hits"]["hits"]
    return [
        {
            "name": h["_source"]["subject_name"],
            "code": h["_source"].get("subject_code", ""),
            "document_number": h["_source"]["document_number"].replace("〔", "[").replace("〕", "]"),
        }
        for h in found
    ]


def settle(es: Elasticsearch, limit: float = 300) -> None:
    """Wait for the merges a bulk load leaves behind: a portal serves a settled index with a trickle of
    writes, and searches measured during those merges would be measuring the merges too."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        merging = sum(
            node["indices"]["merges"]["current"] for node in es.nodes.stats(metric="indices")["nodes"].values()
        )
        if not merging:
            say(f"index settled after {time.monotonic() - started:.0f} s (merges done)")
            return
        time.sleep(2)
    say(f"still merging after {limit:.0f} s: measuring anyway")


def bench_search(
    settings: Settings,
    es: Elasticsearch,
    names: IndexNames,
    n: int,
    clients: int,
    requests: int,
    reuse: bool,
    warm_up: int,
) -> None:
    sample = sample_of(es, names) if reuse else index_decisions(es, names, n)
    settle(es)
    count = es.count(index=",".join(names.public_alias(k) for k in ("licence", "penalty")))["count"]
    web = WebProcess(dataclasses.replace(settings, web_rate=1e9, web_burst=1e9))
    try:
        if warm_up:  # a portal's Elasticsearch has compiled its hot paths (the JIT) long ago: not measured
            asyncio.run(load(web.url, sample, clients, warm_up, seed=8))
        cpu = (elasticsearch_cpu_seconds(es), web.cpu_seconds(), time.process_time())
        started = time.perf_counter()
        latencies = asyncio.run(load(web.url, sample, clients, requests))
        seconds = time.perf_counter() - started
        cpu = (elasticsearch_cpu_seconds(es) - cpu[0], web.cpu_seconds() - cpu[1], time.process_time() - cpu[2])
    finally:
        web.close()
    total = sum(len(v) for v in latencies.values())
    rate = total / seconds
    print(
        f"== public search: {count:,} public decisions, {clients} clients, {total:,} requests ({rate:,.0f}/s)"
        f" after {warm_up:,} unmeasured =="
    )
    print(
        f"CPU per request: Elasticsearch {1000 * cpu[0] / total:.1f} ms, web {1000 * cpu[1] / total:.1f} ms,"
        f" load generator {1000 * cpu[2] / total:.1f} ms ({sum(cpu) / seconds:.2f} of {os.cpu_count()} cores)"
    )
    for kind, values in latencies.items():
        print(
            f"{kind:<16} p50 {1000 * statistics.median(values):6.1f} ms   p95 {1000 * quantile(values, 0.95):6.1f} ms"
            f"   p99 {1000 * quantile(values, 0.99):6.1f} ms   ({len(values)} requests)"
        )
    print("goal: p95 ≤ 100 ms")


def index_year_of_deadlines(es: Elasticsearch, names: IndexNames, events: int) -> None:
    calendar = load_calendar(None)
    rng = random.Random(11)
    departments = [f"11411500MB{n:07d}X" for n in range(40)]
    now = datetime.now(UTC)
    actions = []
    for number in range(events):
        decided = (now - timedelta(days=rng.randrange(365))).date()
        due = deadline_of(decided, calendar)
        late = rng.random() < 0.12
        published = datetime.combine(
            due.date + timedelta(days=3 if late else -rng.randrange(0, 5)), datetime.min.time(), UTC
        )
        state = "published_late" if late else "published_on_time"
        if published > now:
            state, published = "pending", None  # type: ignore[assignment]
        department = rng.choice(departments)
        decision_id = f"penalty:{department}:基准〔{decided.year}〕{number}号"
        actions.append(
            {
                "_index": names.deadlines,
                "_id": decision_id,
                "_source": {
                    "decision_id": decision_id,
                    "kind": rng.choice(("licence", "penalty")),
                    "department_code": department,
                    "state": state,
                    "decision_date": decided.isoformat(),
                    "deadline": due.date.isoformat(),
                    "provisional": due.provisional,
                    "first_seen_at": now.isoformat(),
                    "published_at": published.isoformat() if published else None,
                    "working_days_late": 3 if late else 0,
                    "sequence": 2,
                    "updated_at": now.isoformat(),
                    "indexed_at": now.isoformat(),
                },
            }
        )
    helpers.bulk(es, actions, chunk_size=5000, request_timeout=120)
    es.indices.refresh(index=names.deadlines)


def bench_dashboard(settings: Settings, es: Elasticsearch, names: IndexNames, events: int) -> None:
    index_decisions(es, names, 20_000)
    index_year_of_deadlines(es, names, events)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "supervisors.json"
        key = SupervisorKeys(path).add("bench", datetime.now(UTC))
        web = WebProcess(dataclasses.replace(settings, supervisors_path=path))
        try:
            auth = ("bench", key)
            print(f"== dashboard: a year of deadline states ({events:,} decisions) ==")
            for round_name in ("cold", "warm"):
                for path_name in (
                    "/dashboard",
                    "/dashboard/api/on-time",
                    "/dashboard/api/latency",
                    "/dashboard/api/dead-letters",
                ):
                    started = time.perf_counter()
                    response = httpx.get(f"{web.url}{path_name}", auth=auth, timeout=60)
                    assert response.status_code == 200, response.text[:300]
                    print(f"{round_name:<5} {path_name:<30} {1000 * (time.perf_counter() - started):7.0f} ms")
        finally:
            web.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search")
    search.add_argument("-n", type=int, default=1_000_000)
    search.add_argument("--clients", type=int, default=20)
    search.add_argument("--requests", type=int, default=3000)
    search.add_argument("--warm-up", type=int, default=1500, help="requests sent first, not measured (JIT warm-up)")
    dashboard = commands.add_parser("dashboard")
    dashboard.add_argument("--events", type=int, default=200_000)
    search.add_argument("--reuse", metavar="PREFIX", help="search indices a --keep run left (implies --keep)")
    for sub in (search, dashboard):
        sub.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    reuse = getattr(args, "reuse", None)
    prefix = reuse or f"bench{uuid.uuid4().hex[:8]}-"
    args.keep = args.keep or bool(reuse)
    settings = dataclasses.replace(Settings.from_env(), index_prefix=prefix, web_port=16191)
    names = IndexNames(settings.index_prefix)
    es = search_client.client(settings.elasticsearch, request_timeout=120)

    async def prepare() -> None:
        async with search_client.async_client(settings.elasticsearch) as client:
            await ensure_indices(client, names)

    asyncio.run(prepare())
    try:
        if args.command == "search":
            bench_search(settings, es, names, args.n, args.clients, args.requests, bool(reuse), args.warm_up)
        else:
            bench_dashboard(settings, es, names, args.events)
    finally:
        if not args.keep:
            es.indices.delete(index=f"{settings.index_prefix}*", expand_wildcards="all")
            say(f"deleted indices {settings.index_prefix}*")


if __name__ == "__main__":
    main()
