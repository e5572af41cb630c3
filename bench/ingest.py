"""The departments' ways in, measured against the real local broker (the stack must be up; no worker needed).

    .venv/bin/python bench/ingest.py sdk      [-n 100000]
    .venv/bin/python bench/ingest.py publish  [--csv-rows 1000000] [--xlsx-rows 100000]
    .venv/bin/python bench/ingest.py gateway  [--requests 300] [--batch 100] [--clients 4]

sdk      one department's `Publisher` validating, encoding and producing N realistic decisions (keep_results off),
         until the broker acknowledged all; then `send()` of N decisions prepared beforehand (`prepare_upsert`):
         encode + produce alone. Goal: encode + produce ≥ 20,000 decisions/s.
publish  `sgs publish` (a subprocess, as a clerk runs it) on a generated GBK CSV and an XLSX of one department:
         rows/s including validation and the broker's acknowledgements, and the peak RSS of the process and of
         its row-checking worker processes (goal ≥ 5,000 rows/s; memory flat in the file's size: compare the
         small file's peaks).
gateway  a real `sgs gateway`; C concurrent clients POST batches of B decisions: decisions/s and request
         latency p50/p99.

Each run uses its own topic prefix (`bench<hex>.`) and deletes its topics at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from confluent_kafka.admin import AdminClient

from sgs.config import Settings
from sgs.connectors.departments import DepartmentDirectory, new_department, utc_now
from sgs.connectors.publisher import Publisher, prepare_upsert
from sgs.connectors.simulate import authorities, decision
from sgs.core.dates import CHINA_TZ
from sgs.core.fields import fields_of
from sgs.streams.topics import ensure_topics


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def one_department(rows: int, seed: int = 3) -> tuple[str, list[dict[str, str]]]:
    rng = random.Random(seed)
    office = authorities(rng)[2]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=2)
    return office[1], [decision(rng, "penalty", office, n, decided) for n in range(rows)]


def cleanup(settings: Settings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    mine = [t for t in admin.list_topics(timeout=15).topics if t.startswith(settings.topic_prefix)]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30).values():
            future.result()
    say(f"deleted {len(mine)} topics {settings.topic_prefix}*")


def bench_sdk(settings: Settings, n: int) -> None:
    code, records = one_department(min(n, 20_000))
    accepted = failed = 0

    def counted(receipt: object) -> None:
        nonlocal accepted, failed
        status = getattr(receipt, "status", "")
        accepted += status == "accepted"
        failed += status in ("failed", "invalid")

    publisher = Publisher(code, settings=settings, on_result=counted, keep_results=False)
    publisher.publish("penalty", records[0])  # registers the schema, connects
    publisher.flush()
    accepted = failed = 0
    started = time.perf_counter()
    for i in range(n):
        publisher.publish("penalty", records[i % len(records)])
    publisher.flush(120)
    seconds = time.perf_counter() - started
    print(f"sdk publish(): {n:,} decisions validated, encoded, acknowledged in {seconds:.1f} s: {n / seconds:,.0f}/s")
    print(f"     accepted {accepted:,}, failed or invalid {failed:,}")

    # The goal's part: encode + produce, for decisions checked beforehand (prepare_upsert, e.g. at data entry).
    now = datetime.now(UTC)
    prepared = [
        prepare_upsert(code, "penalty", records[i % len(records)], source="sdk", now=now, version=i + 1)
        for i in range(n)
    ]
    accepted = failed = 0
    started = time.perf_counter()
    for item in prepared:
        publisher.send(item)
    publisher.flush(120)
    seconds = time.perf_counter() - started
    print(f"sdk send():    {n:,} prepared decisions encoded and acknowledged in {seconds:.1f} s: {n / seconds:,.0f}/s")
    print(f"     accepted {accepted:,}, failed or invalid {failed:,}   (goal: encode + produce ≥ 20,000/s)")


def write_csv(path: Path, rows: int) -> str:
    code, records = one_department(min(rows, 20_000))
    names = [f.name for f in fields_of("penalty")]
    zh = {f.name: f.zh for f in fields_of("penalty")}
    with path.open("w", encoding="gbk", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([zh[name] for name in names])
        for i in range(rows):
            record = records[i % len(records)]
            writer.writerow([record.get(name, "") for name in names])
    return code


def write_xlsx(path: Path, rows: int) -> str:
    from openpyxl import Workbook

    code, records = one_department(min(rows, 20_000))
    names = [f.name for f in fields_of("penalty")]
    zh = {f.name: f.zh for f in fields_of("penalty")}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("行政处罚")
    sheet.append([zh[name] for name in names])
    for i in range(rows):
        record = records[i % len(records)]
        sheet.append([record.get(name, "") for name in names])
    book.save(path)
    return code


def _peak_mib(pid: int) -> float | None:
    """The process's peak RSS so far (VmHWM: of this program, not of the parent it was forked from)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((item for item in status.splitlines() if item.startswith("VmHWM")), None)
    return int(line.split()[1]) / 1024 if line else None


def _workers(pid: int) -> list[int]:
    """The row-checking processes of `pid` (not multiprocessing's resource tracker)."""
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]
    except OSError:
        return []


def run_publish(settings: Settings, code: str, path: Path) -> tuple[float, float, dict[int, float], str]:
    """(seconds, peak RSS MiB, peak RSS MiB of each worker process, summary line) of `sgs publish` on `path`."""
    env = {**os.environ, **settings.to_env()}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "sgs.cli.main", "publish", "--department", code, str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    workers: dict[int, float] = {}
    while process.poll() is None:
        peak = max(peak, _peak_mib(process.pid) or 0.0)
        for child in _workers(process.pid):
            workers[child] = max(workers.get(child, 0.0), _peak_mib(child) or 0.0)
        time.sleep(0.2)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise RuntimeError(err[-2000:])
    return seconds, peak, workers, out.strip().splitlines()[0]


def bench_publish(settings: Settings, csv_rows: int, xlsx_rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sgs-bench-") as folder:
        cases = [("csv", 10_000), ("csv", csv_rows), ("xlsx", xlsx_rows)]
        for fmt, rows in cases:
            path = Path(folder) / f"penalties-{rows}.{fmt}"
            say(f"writing {path.name} …")
            code = write_csv(path, rows) if fmt == "csv" else write_xlsx(path, rows)
            size = path.stat().st_size / 1e6
            seconds, peak, workers, line = run_publish(settings, code, path)
            print(f"publish {fmt} {rows:>9,} rows ({size:,.0f} MB): {rows / seconds:>7,.0f} rows/s, {seconds:6.1f} s,")
            of_workers = ", ".join(f"{mib:,.0f}" for mib in workers.values()) or "none"
            print(f"        peak RSS {peak:,.0f} MiB, worker processes {of_workers} MiB   — {line}")
            path.unlink()
    print("goal: ≥ 5,000 rows/s with validation; memory flat in file size")


async def bench_gateway(settings: Settings, requests: int, batch: int, clients: int) -> None:
    code, records = one_department(batch * 10)
    ensure_topics(settings)
    key, department = new_department(code, "基准测试部门", None, utc_now())
    DepartmentDirectory(settings).save(department)
    port = 16181
    gateway_settings = dataclasses.replace(settings, gateway_port=port, gateway_rate=1e9, gateway_burst=1e9)
    env = {**os.environ, **gateway_settings.to_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "sgs.cli.main", "gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=60) as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            bodies = [
                {
                    "decisions": [
                        {"kind": "penalty", "record": records[(i * batch + j) % len(records)]} for j in range(batch)
                    ]
                }
                for i in range(10)
            ]
            await client.post("/v1/decisions", json=bodies[0])  # warm up
            latencies: list[float] = []
            queue = list(range(requests))

            async def client_loop() -> None:
                while queue:
                    i = queue.pop()
                    started = time.perf_counter()
                    response = await client.post("/v1/decisions", json=bodies[i % len(bodies)])
                    latencies.append(time.perf_counter() - started)
                    assert response.status_code == 202, response.text[:500]

            started = time.perf_counter()
            await asyncio.gather(*(client_loop() for _ in range(clients)))
            seconds = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    rate = requests * batch / seconds
    print(f"gateway: {requests} requests × {batch} decisions, {clients} clients: {rate:,.0f} decisions/s;")
    print(f"         request latency p50 {1000 * statistics.median(latencies):.0f} ms, p99 {1000 * p99:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sdk = commands.add_parser("sdk")
    sdk.add_argument("-n", type=int, default=100_000)
    files = commands.add_parser("publish")
    files.add_argument("--csv-rows", type=int, default=1_000_000)
    files.add_argument("--xlsx-rows", type=int, default=100_000)
    gateway = commands.add_parser("gateway")
    gateway.add_argument("--requests", type=int, default=300)
    gateway.add_argument("--batch", type=int, default=100)
    gateway.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    settings = dataclasses.replace(Settings.from_env(), topic_prefix=f"bench{uuid.uuid4().hex[:8]}.")
    ensure_topics(settings)
    try:
        if args.command == "sdk":
            bench_sdk(settings, args.n)
        elif args.command == "publish":
            bench_publish(settings, args.csv_rows, args.xlsx_rows)
        else:
            asyncio.run(bench_gateway(settings, args.requests, args.batch, args.clients))
    finally:
        cleanup(settings)


if __name__ == "__main__":
    main()
