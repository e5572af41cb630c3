"""End-to-end benchmarks of the streaming pipeline against a real local stack, with a real `sgs worker`.

    .venv/bin/python bench/pipeline.py throughput [-n 50000] [--skip-reference] [--profile]
    .venv/bin/python bench/pipeline.py latency    [--rate 200] [--duration 60]
    .venv/bin/python bench/pipeline.py overdue    [-k 100000]
    .venv/bin/python bench/pipeline.py alerts     [-k 300] [--rate 20]

The stack must be up (`.venv/bin/sgs stack up`); every run uses its own topic and index prefix (`bench<hex>.`,
`bench<hex>-`), starts its own worker subprocess (`sgs worker` run as `bench/pipeline.py run-worker`, so that a
broad `pkill -f "sgs.cli.main worker"` elsewhere does not hit it; env from `Settings.to_env()`), stops it at
the end and deletes its topics, indices and worker state (`--keep` keeps them). Worker logs go to
`<SGS_STATE_DIR>/bench/<run>/`.

throughput  N realistic, valid decisions (`sgs.connectors.simulate.records`, decided over the 60 days before
            today) are published with the SDK `Publisher` (one per department) *before* the worker starts, so
            the producer is never the bottleneck; then one worker drains the backlog and `_count` on the public
            aliases (with the public filter) is polled until it reaches N. The sustained rate is measured
            between 10 % and 90 % of N. Then a minimal reference path on the same machine reads the same
            topic (confluent-kafka Consumer, no Faust), decodes Avro, validates, builds the public and archive
            views and bulk-indexes them with `BulkWriter` into separate `<prefix>ref-*` indices, measured the
            same way. Goals: ≥ 3,000 decisions/s, pipeline/reference ≥ 0.6.
latency     A warmed-up worker; decisions published at a steady rate with the SDK `Publisher`; a poller asks the
            public aliases for the still-unseen ids (ids query, every --poll s). Latency = first response
            that contains the id − the moment `publish()` was called. Goal p99 ≤ 3 s.
overdue     A worker with SGS_CLOCK=file:… and SGS_DEADLINE_CHECK_INTERVAL=1. K `seen` notices are produced
            straight to `<prefix>deadline.input`: --due D of them decided on one day, the others on the
            --spread days after it (default: all K on one day); once all K are pending (K `pending` events
            on `<prefix>deadline.events`, counted by high watermarks), the file clock moves to 1 s after the
            end of the D's deadline day (China Standard Time) and the time until D `overdue` transitions have
            been read from the topic is measured. Also the worker's RSS, and the time a kill -9-ed worker needs
            to come back (/metrics answers, "deadline alarms rebuilt", a new notice processed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import pstats
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from elasticsearch import Elasticsearch

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.avro import AvroCodec
from sgs.connectors.publisher import Publisher
from sgs.connectors.search_indices import IndexNames, ensure_indices, public_query_filter
from sgs.connectors.search_writer import BulkWriter, documents_for
from sgs.connectors.simulate import authorities, records
from sgs.core.calendar import load_calendar
from sgs.core.dates import CHINA_TZ
from sgs.core.deadline import deadline as deadline_of
from sgs.core.masking import archive_view, public_view
from sgs.core.publication import licence_is_public
from sgs.core.tracking import end_of_day
from sgs.core.validate import validate
from sgs.deploy.local.stack import LocalStack
from sgs.streams.prepare import prepare
from sgs.streams.topics import Topics

# ----------------------------------------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def bench_settings(**changes: Any) -> tuple[Settings, str]:
    run = uuid.uuid4().hex[:8]
    base = Settings.from_env()
    port = base.worker_web_port if port_free(base.worker_web_port) else free_port()
    settings = dataclasses.replace(
        base, topic_prefix=f"bench{run}.", index_prefix=f"bench{run}-", worker_web_port=port, **changes
    )
    return settings, run


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants (threads included), in seconds."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children[int(fields[1])].append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        fields = _stat(current)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
        todo.extend(children.get(current, []))
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_busy() -> tuple[float, float]:
    """(total, idle) jiffies of all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return float(sum(values[:8])), float(values[3] + values[4])


class CpuMeter:
    """CPU seconds used by named processes and by the whole machine over a window."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start_wall = time.monotonic()
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.start_machine = machine_busy()
        self.load_before = os.getloadavg()

    def report(self) -> str:
        wall = time.monotonic() - self.start_wall
        parts = []
        for name, pid in self.pids.items():
            used = cpu_seconds(pid) - self.start[name]
            parts.append(f"{name} {used:.1f} s ({100 * used / wall:.0f} %)")
        total, idle = machine_busy()
        busy = 1 - (idle - self.start_machine[1]) / max(1.0, total - self.start_machine[0])
        ncpu = os.cpu_count() or 1
        known = sum(cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items())
        machine_cpu = busy * ncpu * wall
        return (
            f"CPU over {wall:.1f} s: " + ", ".join(parts) + f"; machine {100 * busy:.0f} % of {ncpu} cores busy "
            f"({machine_cpu:.1f} CPU-s, of which {max(0.0, machine_cpu - known):.1f} by other processes); "
            f"load average before {self.load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}"
        )


def stack_pids(settings: Settings) -> dict[str, int]:
    return {s.name: s.pid for s in LocalStack(settings).status() if s.pid is not None}


class WorkerProcess:
    """A real `sgs worker` subprocess with the run's settings (as the integration tests start it)."""

    def __init__(self, settings: Settings, log_dir: Path, name: str = "worker", profile: Path | None = None) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.settings, self.profile = settings, profile
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **self.settings.to_env()}
        # `python bench/pipeline.py run-worker` is `python -m sgs.cli.main worker` under another command line: a
        # concurrent `pkill -f "sgs.cli.main worker"` on the shared machine SIGKILLed the benchmark's worker.
        script = str(Path(__file__).resolve())
        if self.profile is None:
            command = [sys.executable, script, "run-worker"]
        else:
            command = [sys.executable, "-m", "cProfile", "-o", str(self.profile), script, "run-worker"]
        self.started = time.monotonic()
        self._log_offset = self.log_path.stat().st_size
        return subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def wait_log(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log_text())
            if found:
                return found
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited ({self.process.returncode}); see {self.log_path}")
            time.sleep(0.05)
        raise TimeoutError(f"worker log never matched {pattern!r} within {timeout:.0f} s; see {self.log_path}")

    def metrics(self, timeout: float = 2.0) -> str | None:
        url = f"http://{self.settings.worker_web_host}:{self.settings.worker_web_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return str(response.read().decode())
        except OSError:
            return None

    def wait_metrics(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.metrics(0.5) is not None:
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited ({self.process.returncode}); see {self.log_path}")
            time.sleep(0.05)
        raise TimeoutError(f"worker /metrics did not answer within {timeout:.0f} s; see {self.log_path}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        self.process = self._start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def run_worker(args: argparse.Namespace) -> None:
    from sgs.cli.main import cli

    cli(["worker"], prog_name="sgs")


def metric_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """Sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head != name and not head.startswith(name + "{"):
            continue
        if labels and not all(f'{k}="{v}"' in head for k, v in labels.items()):
            continue
        total += float(value)
    return total


def cleanup(settings: Settings, log_dir: Path, extra_index_prefixes: tuple[str, ...] = ()) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    topics = [t for t in admin.list_topics(timeout=15).topics if t.startswith(settings.topic_prefix)]
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=30).values():
            with contextlib.suppress(Exception):
                future.result()
    with search_client.client(settings.elasticsearch) as es:
        for prefix in (settings.index_prefix, *extra_index_prefixes):
            with contextlib.suppress(Exception):
                es.indices.delete(index=f"{prefix}*", expand_wildcards="all")
    shutil.rmtree(settings.state_dir / "workers" / f"{settings.topic_prefix}worker", ignore_errors=True)
    say(f"deleted {len(topics)} topics, indices {settings.index_prefix}*, worker state (logs kept in {log_dir})")


def public_count(es: Elasticsearch, names: IndexNames) -> int:
    aliases = ",".join(names.public_alias(kind) for kind in ("licence", "penalty"))
    response = es.count(index=aliases, query={"bool": {"filter": [public_query_filter()]}})
    return int(response["count"])


class CountSampler(threading.Thread):
    """Samples the public `_count` of `names` every `interval` s until it reaches `target` (or `stop`)."""

    def __init__(self, settings: Settings, names: IndexNames, target: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.es = search_client.client(settings.elasticsearch, request_timeout=30)
        self.names, self.target, self.interval = names, target, interval
        self.samples: list[tuple[float, int]] = []
        self.done = threading.Event()
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                count = public_count(self.es, self.names)
            except Exception as exc:  # an index being created: try again
                say(f"count failed: {exc}")
                count = self.samples[-1][1] if self.samples else 0
            self.samples.append((time.monotonic(), count))
            if count >= self.target:
                break
            time.sleep(self.interval)
        self.done.set()

    def wait(
        self, timeout: float, progress: Callable[[int], None] | None = None, worker: WorkerProcess | None = None
    ) -> bool:
        deadline = time.monotonic() + timeout
        last_report = time.monotonic()
        while not self.done.wait(1.0):
            if worker is not None and worker.process.poll() is not None:
                self.halt.set()
                raise SystemExit(f"the worker exited ({worker.process.returncode}); see {worker.log_path}")
            if time.monotonic() > deadline:
                self.halt.set()
                return False
            if progress and time.monotonic() - last_report >= 10 and self.samples:
                progress(self.samples[-1][1])
                last_report = time.monotonic()
        return True

    def rates(self, started: float) -> dict[str, float]:
        """Sustained rate between the samples where 10 % and 90 % of the target were first visible, and overall."""
        low = next(s for s in self.samples if s[1] >= 0.1 * self.target)
        high = next(s for s in self.samples if s[1] >= 0.9 * self.target)
        first = next(s for s in self.samples if s[1] > 0)
        last = next(s for s in self.samples if s[1] >= self.target)
        return {
            "sustained": (high[1] - low[1]) / max(1e-9, high[0] - low[0]),
            "overall": self.target / max(1e-9, last[0] - started),
            "first_visible": first[0] - started,
            "all_visible": last[0] - started,
            "from_first": (last[1] - first[1]) / max(1e-9, last[0] - first[0]),
        }


def realistic(n: int, seed: int) -> list[tuple[str, dict[str, str]]]:
    today = datetime.now(CHINA_TZ).date()
    # decided over the 60 days before today (none in the future: validation would refuse it)
    return records(n, seed, False, first_day=today - timedelta(days=60), days=60)


# Uncompressed, as the SDK Publisher sends, unless --compression says otherwise (the worker reads every codec).
PRODUCER_CONFIG: dict[str, Any] = {"compression.type": "none"}


def new_publisher(code: str, settings: Settings) -> Publisher:
    return Publisher(code, settings=settings, producer_config=PRODUCER_CONFIG)


def publish_all(
    settings: Settings, batch: list[tuple[str, dict[str, str]]], publishers: dict[str, Publisher] | None = None
) -> tuple[float, dict[str, int]]:
    """Publish with one SDK Publisher per department; returns (seconds incl. flush, receipt statuses)."""
    own = publishers is None
    publishers = publishers if publishers is not None else {}
    started = time.monotonic()
    for kind, record in batch:
        code = record["source_department_code"]
        publisher = publishers.get(code)
        if publisher is None:
            publisher = publishers[code] = new_publisher(code, settings)
        publisher.publish(kind, record)
    statuses: dict[str, int] = defaultdict(int)
    for publisher in publishers.values():
        for receipt in publisher.flush(60):
            statuses[receipt.status] += 1
        if own:
            publisher.results.clear()
    return time.monotonic() - started, dict(statuses)


# ------------------------------------------------------------------------------------------- throughput


async def reference_path(settings: Settings, names: IndexNames, total: int, batch_size: int) -> dict[str, float]:
    """Minimal consumer: read submitted, decode, validate, views, bulk index. Returns its own CPU seconds."""
    topic = Topics(settings.topic_prefix).submitted
    codec = AvroCodec(settings.registry, "submission")
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_servers,
            "group.id": f"{settings.topic_prefix}reference-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    es = search_client.async_client(settings.elasticsearch, request_timeout=30)
    writer = BulkWriter(es)
    calendar = load_calendar(settings.calendar_dir)
    seen = written = 0
    cpu_before = time.process_time()
    try:
        while seen < total:
            messages = consumer.consume(batch_size, 0.2)
            if not messages:
                continue
            now = datetime.now(UTC)
            today = now.astimezone(CHINA_TZ).date()
            writes = []
            for message in messages:
                if message.error() or message.value() is None:
                    continue
                seen += 1
                envelope = codec.decode(topic, message.value())
                raw = envelope["decision"]
                values = {k: v for k, v in raw.items() if v is not None}
                result = validate(envelope["kind"], values, today=today, calendar=calendar)
                decision = result.record
                if decision is None:
                    continue
                status = "active"
                if decision.kind == "licence" and not licence_is_public(decision.text("status") or ""):
                    status = "not_public"
                state = {
                    "decision_id": decision.decision_id,
                    "kind": decision.kind,
                    "sequence": 1,
                    "status": status,
                    "public_document": json.dumps(public_view(decision), ensure_ascii=False),
                    "archive_document": json.dumps(archive_view(decision), ensure_ascii=False),
                }
                writes.extend(documents_for(state, names, indexed_at=now))
            results = await writer.write(writes)
            written += sum(r.outcome == "written" for r in results)
            rejected = [r for r in results if r.outcome == "rejected"]
            if rejected:
                raise RuntimeError(f"reference: Elasticsearch rejected {len(rejected)}: {rejected[0].error}")
    finally:
        consumer.close()
        await es.close()
    return {"cpu": time.process_time() - cpu_before, "written": written}


def throughput(args: argparse.Namespace) -> None:
    settings, run = bench_settings()
    log_dir = settings.state_dir / "bench" / run
    names, ref_names = IndexNames(settings.index_prefix), IndexNames(settings.index_prefix + "ref-")
    say(f"run {run}: topics {settings.topic_prefix}*, indices {settings.index_prefix}*, logs {log_dir}")
    prepare(settings)
    n = args.n
    batch = realistic(n, args.seed)
    say(f"publishing {n:,} decisions with the SDK Publisher (one per department) before the worker starts …")
    seconds, statuses = publish_all(settings, batch)
    del batch
    if statuses.get("accepted", 0) != n:
        raise SystemExit(f"not every decision was accepted by the broker: {statuses}")
    produce_rate = n / seconds
    say(f"published {n:,} in {seconds:.1f} s ({produce_rate:,.0f}/s incl. validation, Avro, flush)")

    profile = log_dir / "worker.prof" if args.profile else None
    pids = stack_pids(settings)
    worker = WorkerProcess(settings, log_dir, profile=profile)
    try:
        sampler = CountSampler(settings, names, n)
        meter = CpuMeter({"worker": worker.pid, **pids})
        sampler.start()
        ok = sampler.wait(args.timeout, lambda c: say(f"pipeline: {c:,} of {n:,} searchable"), worker)
        cpu_report = meter.report()
        worker.stop()
        if not ok:
            raise SystemExit(f"pipeline: only {sampler.samples[-1][1]:,} of {n:,} searchable in {args.timeout} s")
        pipeline = sampler.rates(worker.started)
        say(f"pipeline done: {pipeline}")
        say(cpu_report)

        reference: dict[str, float] | None = None
        ref_cpu = ""
        if not args.skip_reference:
            asyncio.run(_ensure(settings, ref_names))
            sampler = CountSampler(settings, ref_names, n)
            meter = CpuMeter({"reference(bench process)": os.getpid(), **pids})
            started = time.monotonic()
            sampler.start()
            result = asyncio.run(reference_path(settings, ref_names, n, args.reference_batch))
            sampler.wait(args.timeout)
            ref_cpu = meter.report()
            reference = sampler.rates(started)
            say(f"reference done: {reference} (written {result['written']:,})")
            say(ref_cpu)
    finally:
        worker.stop()

    print()
    print(f"== throughput: {n:,} realistic valid decisions (run {run}, {settings.topic_partitions} partitions) ==")
    print(f"producer (SDK Publisher ×{24}, before the worker started): {produce_rate:,.0f} decisions/s")
    print(
        f"pipeline (1 sgs worker, submitted → searchable): sustained {pipeline['sustained']:,.0f}/s (10→90 %), "
        f"overall {pipeline['overall']:,.0f}/s from worker start "
        f"(first visible after {pipeline['first_visible']:.1f} s, "
        f"all {n:,} after {pipeline['all_visible']:.1f} s; {pipeline['from_first']:,.0f}/s from first visible)"
    )
    print(f"  {cpu_report}")
    if reference is not None:
        print(
            f"reference (confluent Consumer + decode + validate + views + BulkWriter, no Faust): "
            f"sustained {reference['sustained']:,.0f}/s, overall {reference['overall']:,.0f}/s "
            f"(all after {reference['all_visible']:.1f} s)"
        )
        print(f"  {ref_cpu}")
        print(
            f"ratio pipeline/reference: sustained {pipeline['sustained'] / reference['sustained']:.2f}, "
            f"overall {pipeline['overall'] / reference['overall']:.2f}   (goal ≥ 0.6)"
        )
    print(f"goal ≥ 3,000/s: {'met' if pipeline['sustained'] >= 3000 else 'NOT met'} (sustained)")
    if profile is not None and profile.exists():
        print(f"\nworker profile ({profile}):")
        stats = pstats.Stats(str(profile))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
    if not args.keep:
        cleanup(settings, log_dir, (ref_names.prefix,))


async def _ensure(settings: Settings, names: IndexNames) -> None:
    async with search_client.async_client(settings.elasticsearch) as es:
        await ensure_indices(es, names)


# ---------------------------------------------------------------------------------------------- latency


class IdPoller(threading.Thread):
    """Asks the public aliases for the ids submitted and not yet seen; records when each first answers."""

    def __init__(self, settings: Settings, names: IndexNames, interval: float) -> None:
        super().__init__(daemon=True)
        self.es = search_client.client(settings.elasticsearch, request_timeout=30)
        self.aliases = ",".join(names.public_alias(kind) for kind in ("licence", "penalty"))
        self.interval = interval
        self.lock = threading.Lock()
        self.pending: dict[str, float] = {}
        self.latencies: dict[str, float] = {}
        self.halt = threading.Event()
        self.polls = 0
        self.poll_seconds = 0.0

    def submitted(self, decision_id: str, at: float) -> None:
        with self.lock:
            self.pending[decision_id] = at

    def run(self) -> None:
        while not self.halt.is_set():
            with self.lock:
                ids = list(self.pending)
            started = time.time()
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                response = self.es.search(
                    index=self.aliases,
                    query={"bool": {"filter": [{"ids": {"values": chunk}}, public_query_filter()]}},
                    size=len(chunk),
                    source=False,
                    filter_path="hits.hits._id",
                )
                answered = time.time()
                found = [hit["_id"] for hit in response.get("hits", {}).get("hits", [])]
                with self.lock:
                    for decision_id in found:
                        submitted = self.pending.pop(decision_id, None)
                        if submitted is not None:
                            self.latencies[decision_id] = answered - submitted
            self.polls += 1
            self.poll_seconds += time.time() - started
            time.sleep(max(0.0, self.interval - (time.time() - started)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def latency(args: argparse.Namespace) -> None:
    settings, run = bench_settings()
    log_dir = settings.state_dir / "bench" / run
    names = IndexNames(settings.index_prefix)
    say(f"run {run}: topics {settings.topic_prefix}*, indices {settings.index_prefix}*, logs {log_dir}")
    prepare(settings)
    total = int(args.rate * args.duration)
    warmup = 200
    batch = realistic(total + warmup, args.seed)
    publishers: dict[str, Publisher] = {}
    worker = WorkerProcess(settings, log_dir)
    poller = IdPoller(settings, names, args.poll)
    try:
        worker.wait_log(r"\[\^Worker\]: Ready", 120)
        say(f"worker ready after {time.monotonic() - worker.started:.1f} s; warming up with {warmup} decisions …")
        publish_all(settings, batch[:warmup], publishers)
        sampler = CountSampler(settings, names, warmup)
        sampler.start()
        if not sampler.wait(120, worker=worker):
            raise SystemExit("warm-up decisions never became searchable")
        poller.start()
        meter = CpuMeter({"worker": worker.pid, **stack_pids(settings)})
        say(f"publishing {total:,} decisions at {args.rate:g}/s for {args.duration:g} s …")
        started = time.monotonic()
        late = 0.0
        for i, (kind, record) in enumerate(batch[warmup:]):
            due = started + i / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                late = max(late, -pause)
            code = record["source_department_code"]
            publisher = publishers.get(code) or publishers.setdefault(code, new_publisher(code, settings))
            at = time.time()
            receipt = publisher.publish(kind, record)
            if receipt.decision_id is None or receipt.status == "invalid":
                raise SystemExit(f"generated decision refused: {receipt.problems}")
            poller.submitted(receipt.decision_id, at)
        produce_seconds = time.monotonic() - started
        for publisher in publishers.values():
            publisher.flush(30)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            with poller.lock:
                if not poller.pending:
                    break
            time.sleep(0.2)
        poller.halt.set()
        cpu_report = meter.report()
    finally:
        worker.stop()
    lat = list(poller.latencies.values())
    missing = len(poller.pending)
    print()
    print(f"== latency: {total:,} decisions at {args.rate:g}/s over {produce_seconds:.1f} s (run {run}) ==")
    print(f"producer: SDK Publisher ×{len(publishers)}, max lag behind schedule {late * 1000:.0f} ms")
    print(
        f"submitted → searchable (public alias, ids query every {args.poll:g} s, "
        f"mean poll {1000 * poller.poll_seconds / max(1, poller.polls):.0f} ms): "
        f"n={len(lat):,}, never seen={missing}"
    )
    if lat:
        print(
            f"  p50 {percentile(lat, 50):.3f} s  p95 {percentile(lat, 95):.3f} s  p99 {percentile(lat, 99):.3f} s  "
            f"max {max(lat):.3f} s  min {min(lat):.3f} s  mean {sum(lat) / len(lat):.3f} s"
        )
        print(f"  goal p99 ≤ 3 s: {'met' if percentile(lat, 99) <= 3 else 'NOT met'}")
    print(f"  {cpu_report}")
    if not args.keep:
        cleanup(settings, log_dir)


# ---------------------------------------------------------------------------------------------- overdue


def watermark_total(consumer: Consumer, topic: str) -> dict[int, int]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in metadata.partitions}


class Waiting:
    """A wait for `target` of something: fails past `timeout` or when the worker exits, reports every 10 s."""

    def __init__(self, what: str, unit: str, target: int, timeout: float, worker: WorkerProcess | None) -> None:
        self.what, self.unit, self.target, self.timeout, self.worker = what, unit, target, timeout, worker
        self.started = self.last_report = time.monotonic()

    def elapsed(self, count: int) -> float:
        now = time.monotonic()
        if now - self.started > self.timeout:
            raise SystemExit(f"{self.what}: {count:,} of {self.target:,} {self.unit} within {self.timeout:.0f} s")
        if self.worker is not None and self.worker.process.poll() is not None:
            worker = self.worker
            raise SystemExit(f"{self.what}: the worker exited ({worker.process.returncode}); see {worker.log_path}")
        if now - self.last_report >= 10:
            say(f"{self.what}: {count:,} of {self.target:,} {self.unit}")
            self.last_report = now
        return now - self.started


def wait_events(
    consumer: Consumer, topic: str, target: int, timeout: float, what: str, worker: WorkerProcess | None = None
) -> tuple[float, float | None]:
    """Wait until the topic holds `target` messages; returns (seconds, seconds to the first above `start`)."""
    waiting = Waiting(what, "events", target, timeout, worker)
    base = sum(watermark_total(consumer, topic).values())
    first: float | None = None
    while True:
        total = sum(watermark_total(consumer, topic).values())
        elapsed = waiting.elapsed(total)
        if first is None and total > base:
            first = elapsed
        if total >= target:
            return elapsed, first
        time.sleep(0.1)


def wait_transitions(
    settings: Settings,
    start: dict[int, int],
    wanted: Callable[[dict[str, Any]], bool],
    target: int,
    timeout: float,
    what: str,
    worker: WorkerProcess | None = None,
) -> tuple[float, float | None]:
    """Read deadline.events from `start` until `target` transitions match `wanted`; returns (seconds to the last,
    seconds to the first)."""
    topic = Topics(settings.topic_prefix).deadline_events
    codec = AvroCodec(settings.registry, "deadline_event")
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_servers, "group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, start.get(p, 0)) for p in partitions])
    waiting = Waiting(what, "transitions", target, timeout, worker)
    seen, first = 0, None
    try:
        while seen < target:
            waiting.elapsed(seen)
            for message in consumer.consume(1000, 0.1):
                value = message.value()
                if not message.error() and value is not None and wanted(codec.decode(topic, value)):
                    seen += 1
                    first = first if first is not None else time.monotonic() - waiting.started
        return time.monotonic() - waiting.started, first
    finally:
        consumer.close()


def count_states(settings: Settings, topic: str, start: dict[int, int], end: dict[int, int]) -> dict[str, int]:
    codec = AvroCodec(settings.registry, "deadline_event")
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_servers, "group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    remaining = {p: end[p] for p in end if end[p] > start.get(p, 0)}
    consumer.assign([TopicPartition(topic, p, start.get(p, 0)) for p in remaining])
    states: dict[str, int] = defaultdict(int)
    while remaining:
        messages = consumer.consume(1000, 5)
        if not messages:
            break
        for message in messages:
            if message.error():
                continue
            states[codec.decode(topic, message.value())["to_state"]] += 1
            if message.offset() + 1 >= remaining.get(message.partition(), 0):
                remaining.pop(message.partition(), None)
    consumer.close()
    return dict(states)


def overdue(args: argparse.Namespace) -> None:
    clock_dir = Settings.from_env().state_dir / "bench"
    clock_dir.mkdir(parents=True, exist_ok=True)
    clock_path = clock_dir / f"clock-{uuid.uuid4().hex[:8]}"
    settings, run = bench_settings(clock=f"file:{clock_path}", deadline_check_interval=1.0)
    log_dir = settings.state_dir / "bench" / run
    topics = Topics(settings.topic_prefix)
    calendar = load_calendar(settings.calendar_dir)
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=40)
    due = deadline_of(decided, calendar)
    k = args.k
    due_count = k if args.due is None else min(args.due, k)
    noon = datetime.combine(decided, dtime(12), tzinfo=CHINA_TZ)
    clock_path.write_text(noon.isoformat())
    say(
        f"run {run}: {due_count:,} of {k:,} decided {decided}, deadline {due.date} (provisional={due.provisional}), "
        f"the rest over the {args.spread} days after; clock {noon.isoformat()}; logs {log_dir}"
    )
    prepare(settings)
    worker = WorkerProcess(settings, log_dir)
    consumer = Consumer({"bootstrap.servers": settings.kafka_servers, "group.id": f"bench-{uuid.uuid4()}"})
    try:
        worker.wait_log(r"\[\^Worker\]: Ready", 120)
        say(f"worker ready after {time.monotonic() - worker.started:.1f} s; producing {k:,} seen notices …")
        codec = AvroCodec(settings.registry, "deadline_notice")
        producer = Producer(
            {
                "bootstrap.servers": settings.kafka_servers,
                "partitioner": "murmur2_random",
                "linger.ms": 50,
                "compression.type": "none",  # as the SDK Publisher sends
                "queue.buffering.max.messages": 1_000_000,
            }
        )
        departments = [code for _, code in authorities(__import__("random").Random(7))]
        started = time.monotonic()
        at = noon.astimezone(UTC)
        for i in range(k):
            department = departments[i % len(departments)]
            kind = "penalty" if i % 2 else "licence"
            decision_id = f"{kind}:{department}:信阳{'罚' if i % 2 else '许'}〔{decided.year}〕{i}号"
            # The first `due_count` are due on the measured day; the others later, spread over `spread` days.
            decision_date = decided if i < due_count else decided + timedelta(days=1 + i % args.spread)
            notice = {
                "type": "seen",
                "decision_id": decision_id,
                "at": at,
                "kind": kind,
                "department_code": department,
                "decision_date": decision_date.isoformat(),
            }
            value = codec.encode(topics.deadline_input, notice)
            while True:
                try:
                    producer.produce(topics.deadline_input, key=decision_id, value=value)
                    break
                except BufferError:
                    producer.poll(0.2)
            producer.poll(0)
        producer.flush(120)
        produce_seconds = time.monotonic() - started
        say(f"produced {k:,} notices in {produce_seconds:.1f} s ({k / produce_seconds:,.0f}/s)")
        meter = CpuMeter({"worker": worker.pid, **stack_pids(settings)})
        _tracked_seconds, _ = wait_events(consumer, topics.deadline_events, k, args.timeout, "pending", worker)
        tracked_cpu = meter.report()
        since_start = time.monotonic() - started
        say(f"all {k:,} pending {since_start:.1f} s after the first notice was produced; {tracked_cpu}")
        # the gauge is set at every tick (1 s)
        pending_gauge = 0.0
        for _ in range(50):
            text = worker.metrics() or ""
            pending_gauge = metric_value(text, "sgs_deadlines_open", {"state": "pending"})
            if pending_gauge >= k:
                break
            time.sleep(0.2)
        rss_pending = rss_mib(worker.pid)
        before = watermark_total(consumer, topics.deadline_events)

        moved_to = end_of_day(due.date) + timedelta(seconds=1)
        meter = CpuMeter({"worker": worker.pid, **stack_pids(settings)})
        say(f"moving the clock to {moved_to.isoformat()} …")
        clock_path.write_text(moved_to.isoformat())
        lag, first = wait_transitions(
            settings, before, lambda e: e["to_state"] == "overdue", due_count, args.timeout, "overdue", worker
        )
        overdue_cpu = meter.report()
        rss_overdue = rss_mib(worker.pid)
        after = watermark_total(consumer, topics.deadline_events)
        states = count_states(settings, topics.deadline_events, before, after)
        say(f"overdue: {due_count:,} in {lag:.1f} s (first after {first}); states {states}; RSS {rss_overdue:.0f} MiB")
        say(overdue_cpu)

        # restart after kill -9, with a probe decision whose deadline is later than the clock
        probe_date = due.date + timedelta(days=2)
        probe_id = f"penalty:{departments[0]}:信阳探测〔{probe_date.year}〕1号"
        worker.kill()
        say("worker killed (SIGKILL); restarting …")
        base = watermark_total(consumer, topics.deadline_events)
        probe = {
            "type": "seen",
            "decision_id": probe_id,
            "at": moved_to.astimezone(UTC),
            "kind": "penalty",
            "department_code": departments[0],
            "decision_date": probe_date.isoformat(),
        }
        worker.restart()
        producer.produce(topics.deadline_input, key=probe_id, value=codec.encode(topics.deadline_input, probe))
        producer.flush(30)
        metrics_up = worker.wait_metrics(600)
        rebuilt = worker.wait_log(r"deadline alarms rebuilt: (\d+) open decisions", 900)
        rebuilt_at = time.monotonic() - worker.started
        probe_at: float | None = None
        check_seconds: float | None = None
        try:

            def probe_in(state: str) -> Callable[[dict[str, Any]], bool]:
                return lambda e: e["decision_id"] == probe_id and e["to_state"] == state

            wait_transitions(settings, base, probe_in("pending"), 1, args.probe_timeout, "probe pending", worker)
            probe_at = time.monotonic() - worker.started
            # and a timer-driven check still works: move the clock past the probe's deadline
            probe_due = deadline_of(probe_date, calendar).date
            clock_path.write_text((end_of_day(probe_due) + timedelta(seconds=1)).isoformat())
            check_seconds, _ = wait_transitions(
                settings, base, probe_in("overdue"), 1, args.probe_timeout, "probe overdue", worker
            )
        except SystemExit as stalled:
            say(f"restarted worker: {stalled}")
        lag_text = worker.metrics(10) or ""
        restart_lag = {
            topic: metric_value(lag_text, "sgs_consumer_lag_messages", {"topic": topic})
            for topic in (topics.deadline_input, topics.deadline_events)
        }
        rss_restarted = rss_mib(worker.pid)
    finally:
        consumer.close()
        worker.stop()
        with contextlib.suppress(OSError):
            clock_path.unlink()

    print()
    print(f"== overdue detection: {k:,} tracked decisions, {due_count:,} due on {due.date} (run {run}) ==")
    print(f"notices produced straight to deadline.input: {k / produce_seconds:,.0f}/s ({produce_seconds:.1f} s)")
    print(
        f"tracker: all {k:,} pending after {since_start:.1f} s from the first notice "
        f"({k / since_start:,.0f} notices/s); pending gauge {pending_gauge:,.0f}"
    )
    print(f"  {tracked_cpu}")
    print(f"worker RSS with {k:,} pending: {rss_pending:,.0f} MiB; after all overdue: {rss_overdue:,.0f} MiB")
    print(
        f"overdue lag (clock moved → the {due_count:,} due read as overdue from deadline.events): {lag:.1f} s "
        f"(first after {first if first is None else round(first, 2)} s; {due_count / lag:,.0f} decisions/s); "
        f"decoded transitions: {states}"
    )
    print(f"  {overdue_cpu}")
    probe = "NOT processed" if probe_at is None else f"processed after {probe_at:.1f} s"
    check = "" if check_seconds is None else f"; then a timer check made it overdue in {check_seconds:.1f} s"
    print(
        f"restart after kill -9: /metrics answers after {metrics_up:.1f} s, 'deadline alarms rebuilt: "
        f"{rebuilt.group(1)} open decisions' after {rebuilt_at:.1f} s, a new seen notice {probe} "
        f"(waited up to {args.probe_timeout:.0f} s){check}; RSS {rss_restarted:,.0f} MiB; "
        f"consumer lag at the end {restart_lag}"
    )
    if not args.keep:
        cleanup(settings, log_dir)


# ---------------------------------------------------------------------------------------------------- alerts


def sanction_alerts(args: argparse.Namespace) -> None:
    """K licensed companies, then a penalty for each from another department at a steady rate: the time from
    `publish()` of the penalty to its sanction alert on alerts.sanctions."""
    import random

    from sgs.connectors.simulate import authorities, licence, penalty, uscc

    settings, run = bench_settings()
    log_dir = settings.state_dir / "bench" / run
    topics = Topics(settings.topic_prefix)
    say(f"run {run}: topics {settings.topic_prefix}*, logs {log_dir}")
    prepare(settings)
    rng = random.Random(args.seed)
    offices = authorities(rng)
    licensing, penalising = offices[0], offices[4]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=1)
    companies = []
    for n in range(args.k):
        code = uscc("91411502", rng)
        companies.append(
            {
                "subject_name": f"信阳基准{n}有限公司",
                "subject_category": "法人及非法人组织",
                "subject_code": code,
                "legal_representative": "张三",
                "legal_representative_id_type": "身份证",
                "legal_representative_id_number": "411502199508081269",
            }
        )
    worker = WorkerProcess(settings, log_dir)
    alert_codec = AvroCodec(settings.registry, "alert")
    consumer = Consumer({"bootstrap.servers": settings.kafka_servers, "group.id": f"bench-alerts-{run}"})
    try:
        worker.wait_log(r"\[\^Worker\]: Ready", 120)
        with new_publisher(licensing[1], settings) as publisher:
            for n, company in enumerate(companies):
                publisher.publish("licence", licence(rng, licensing, 500_000 + n, decided) | company)
        es, names = search_client.client(settings.elasticsearch), IndexNames(settings.index_prefix)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            es.indices.refresh(index=names.archive)
            if es.count(index=names.archive)["count"] >= args.k:
                break
            time.sleep(0.5)
        time.sleep(3)  # the join follows the archive by a moment
        metadata = consumer.list_topics(topics.alerts, timeout=10).topics[topics.alerts]
        consumer.assign([TopicPartition(topics.alerts, p, 0) for p in metadata.partitions])
        sent: dict[str, float] = {}
        arrived: dict[str, float] = {}
        stop = threading.Event()

        def consume() -> None:  # alongside the publishing, so each alert's arrival is timed as it comes
            while not stop.is_set():
                message = consumer.poll(0.2)
                if message is None or message.error() or message.value() is None:
                    continue
                alert = alert_codec.decode(topics.alerts, message.value())
                arrived.setdefault(alert["penalty_id"], time.monotonic())

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        say(f"{args.k} licences in; publishing {args.k} penalties at {args.rate:g}/s …")
        started = time.monotonic()
        with new_publisher(penalising[1], settings) as publisher:
            for n, company in enumerate(companies):
                pause = started + n / args.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                record = penalty(rng, penalising, 600_000 + n, decided) | company
                at = time.monotonic()
                receipt = publisher.publish("penalty", record)
                sent[str(receipt.decision_id)] = at
        while len(set(sent) & set(arrived)) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        reader.join(5)
        latencies = [arrived[penalty_id] - at for penalty_id, at in sent.items() if penalty_id in arrived]
    finally:
        consumer.close()
        worker.stop()
    latencies.sort()
    print(f"\n== sanction alerts: {args.k} penalties at {args.rate:g}/s against licensed companies (run {run}) ==")
    print(f"penalty publish() → alert on {topics.alerts}: n={len(latencies)}, missing {args.k - len(latencies)}")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        print(
            f"p50 {latencies[len(latencies) // 2]:.2f} s, p99 {p99:.2f} s, max {latencies[-1]:.2f} s   (goal p99 ≤ 5 s)"
        )
    if not args.keep:
        cleanup(settings, log_dir)


# ------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=7)
    common.add_argument("--timeout", type=float, default=900, help="seconds to wait for the pipeline")
    common.add_argument("--keep", action="store_true", help="keep topics, indices and worker state")

    one = sub.add_parser("throughput", parents=[common], help="sustained throughput and the reference path")
    one.add_argument("-n", type=int, default=50_000)
    one.add_argument("--skip-reference", action="store_true")
    one.add_argument("--reference-batch", type=int, default=1000, help="messages per reference bulk")
    one.add_argument("--profile", action="store_true", help="run the worker under cProfile and print the top")
    one.set_defaults(run=throughput)

    two = sub.add_parser("latency", parents=[common], help="submitted → searchable latency at a steady rate")
    two.add_argument("--rate", type=float, default=200)
    two.add_argument("--duration", type=float, default=60)
    two.add_argument("--poll", type=float, default=0.1, help="seconds between id polls")
    two.set_defaults(run=latency)

    three = sub.add_parser("overdue", parents=[common], help="deadline overdue detection lag, RSS, restart")
    three.add_argument("-k", type=int, default=100_000, help="decisions tracked (pending)")
    three.add_argument("--due", type=int, help="of which due on the measured day (default: all)")
    three.add_argument("--spread", type=int, default=60, help="days the others' decision dates spread over")
    three.add_argument("--probe-timeout", type=float, default=240, help="seconds to wait for the restarted worker")
    three.set_defaults(run=overdue)

    five = sub.add_parser("alerts", parents=[common], help="penalty → sanction alert latency")
    five.add_argument("-k", type=int, default=300)
    five.add_argument("--rate", type=float, default=20)
    five.set_defaults(run=sanction_alerts)

    four = sub.add_parser("run-worker", help="internal: `sgs worker` with the SGS_* environment (the benchmark worker)")
    four.set_defaults(run=run_worker)

    for each in (one, two):
        each.add_argument(
            "--compression",
            default="none",
            help="compression.type of the SDK publishers: none (the SDK's), gzip, snappy, lz4 or zstd",
        )
    args = parser.parse_args()
    if getattr(args, "compression", None):
        PRODUCER_CONFIG["compression.type"] = args.compression
    args.run(args)


if __name__ == "__main__":
    main()
