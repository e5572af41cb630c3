"""What one faust-streaming worker can do on this machine with no sgs work at all: the ceiling under the pipeline.

    .venv/bin/python bench/faust_ceiling.py [-n 50000] [--mode pass|send|table-send ...]

For each mode, N messages of 600 bytes are produced to a fresh topic (4 partitions) and a bare Faust app
(same settings as `sgs worker`: aiokafka, RocksDB tables) consumes them in a subprocess:

pass        `async for event in stream.events()`: consume and ack, nothing else
send        consume, and send one message per event to another topic
table-send  consume, set a table key (RocksDB + changelog), and send one message: one stage of the pipeline

It prints messages/s and the worker's CPU time per message. The pipeline consumes about 6.5 and produces about
8 messages per decision (README, "Measured"), which bounds its throughput from above.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from sgs.config import Settings

MODES = ("pass", "send", "table-send")


def app_main() -> None:
    import faust

    mode, total, prefix = os.environ["CEILING_MODE"], int(os.environ["CEILING_N"]), os.environ["CEILING_PREFIX"]
    app = faust.App(
        f"{prefix}app",
        broker=f"kafka://{os.environ['CEILING_BROKER']}",
        store="rocksdb://",
        datadir=os.environ["CEILING_DATADIR"],
        web_port=int(os.environ["CEILING_PORT"]),
        web_bind="127.0.0.1",
        topic_partitions=4,
        consumer_auto_offset_reset="earliest",
        stream_wait_empty=False,
    )
    source = app.topic(f"{prefix}source", key_type=str, value_type=bytes, value_serializer="raw")
    sink = app.topic(f"{prefix}sink", key_type=str, value_type=bytes, value_serializer="raw")
    table = app.Table(f"{prefix}table", key_type=str)
    seen = {"count": 0, "started": 0.0, "cpu": 0.0}

    @app.agent(source)
    async def consume(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if seen["count"] == 0:
                seen["started"], seen["cpu"] = time.perf_counter(), time.process_time()
            if mode == "table-send":
                table[event.key] = {"size": len(event.value)}
            if mode in ("send", "table-send"):
                await sink.send(key=event.key, value=event.value)
            seen["count"] += 1
            if seen["count"] == total:
                wall, cpu = time.perf_counter() - seen["started"], time.process_time() - seen["cpu"]
                print(f"CEILING {total / wall:.0f} {1e6 * cpu / total:.0f}", flush=True)
                os._exit(0)

    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(mode: str, total: int, settings: Settings) -> tuple[float, float]:
    prefix = f"ceiling{uuid.uuid4().hex[:6]}."
    producer = Producer({"bootstrap.servers": settings.kafka_servers, "linger.ms": 20, "partitioner": "murmur2_random"})
    for i in range(total):
        producer.produce(f"{prefix}source", key=f"k{i}", value=b"x" * 600)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush()
    with tempfile.TemporaryDirectory() as datadir:
        env = {
            **os.environ,
            "CEILING_MODE": mode,
            "CEILING_N": str(total),
            "CEILING_PREFIX": prefix,
            "CEILING_BROKER": settings.kafka_servers,
            "CEILING_DATADIR": datadir,
            "CEILING_PORT": str(free_port()),
        }
        done = subprocess.run([sys.executable, __file__, "app"], env=env, capture_output=True, text=True, timeout=600)
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers})
    mine = [topic for topic in admin.list_topics(timeout=15).topics if topic.startswith(prefix)]
    if mine:
        admin.delete_topics(mine, operation_timeout=30)
    found = re.search(r"CEILING (\d+) (\d+)", done.stdout + done.stderr)
    if found is None:
        raise RuntimeError(f"{mode}: the Faust app printed no result:\n{(done.stdout + done.stderr)[-3000:]}")
    return float(found[1]), float(found[2])


def main() -> None:
    if sys.argv[1:] == ["app"]:
        app_main()
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=50_000, help="messages per mode")
    parser.add_argument("--mode", choices=MODES, action="append", help="modes to run (default: all)")
    args = parser.parse_args()
    settings = Settings.from_env()
    print(f"== Faust ceiling: {args.n:,} messages of 600 bytes, 4 partitions, one worker ==")
    for mode in args.mode or MODES:
        rate, cpu_us = run(mode, args.n, settings)
        print(f"{mode:<11} {rate:>7,.0f} messages/s   {cpu_us:>5,.0f} µs CPU per message")


if __name__ == "__main__":
    main()
