"""A file's rows checked in worker processes: the same answers, in file order, as checked in the caller."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastavro
import pytest

from sgs.connectors import row_checks
from sgs.connectors.publisher import prepare_upsert
from sgs.connectors.row_checks import Checked, RowCheck, checked_rows
from sgs.connectors.templates import Row, TemplateError
from sgs.core.problems import Problem
from sgs.schemas.contracts import load_schema

from .factories import AUTHORITY, penalty

NOW = datetime(2025, 6, 30, 2, 0, tzinfo=UTC)
SCHEMA_ID = 7


def rows(count: int) -> Iterator[Row]:
    """Valid rows, with an invalid one every fifth and an unreadable one every seventh."""
    for n in range(1, count + 1):
        if n % 7 == 0:
            yield Row(n, {}, (Problem("", "row.unreadable", "这一行无法读取"),))
            continue
        record = penalty(document_number=f"信市监罚〔2025〕{n}号")
        if n % 5 == 0:
            record["decision_date"] = "2025-02-30"
        yield Row(n, record)


def decoded(encoded: bytes | None) -> dict[str, Any] | None:
    if encoded is None:
        return None
    value = fastavro.schemaless_reader(io.BytesIO(encoded[5:]), load_schema("submission"))
    assert isinstance(value, dict) and encoded[:5] == b"\x00" + SCHEMA_ID.to_bytes(4, "big")
    return {k: v for k, v in value.items() if k != "event_id"}  # a fresh uuid per check


def comparable(checked: Checked) -> tuple[object, ...]:
    receipt = checked.receipt
    if receipt is None:
        return (checked.row.number, None, decoded(checked.encoded))
    return (
        checked.row.number,
        (receipt.decision_id, receipt.version, receipt.status, receipt.row, [p.code for p in receipt.problems]),
        decoded(checked.encoded),
    )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunking happens in the calling process: a few rows inline, then many small chunks, one left partial.
    monkeypatch.setattr(row_checks, "INLINE_ROWS", 5)
    monkeypatch.setattr(row_checks, "CHUNK_ROWS", 4)


@pytest.mark.usefixtures("small_chunks")
def test_worker_processes_answer_as_the_caller_would_in_file_order() -> None:
    check = RowCheck(AUTHORITY, "penalty", SCHEMA_ID)
    here = [comparable(c) for c in checked_rows(rows(60), check, lambda: NOW, processes=0)]
    pooled = [comparable(c) for c in checked_rows(rows(60), check, lambda: NOW, processes=2)]
    assert pooled == here
    assert [number for number, *_ in pooled] == list(range(1, 61))
    statuses = [answer[2] if isinstance(answer, tuple) else "unreadable" for _, answer, _ in pooled]
    assert statuses.count("unreadable") == 8 and statuses.count("invalid") == 11 and statuses.count("pending") == 41


def test_the_encoded_value_is_the_envelope_the_publisher_would_send() -> None:
    check = RowCheck(AUTHORITY, "penalty", SCHEMA_ID)
    [row] = list(rows(1))
    [checked] = list(checked_rows(iter([row]), check, lambda: NOW, processes=0))
    prepared = prepare_upsert(AUTHORITY, "penalty", row.values, source="import", now=NOW)
    assert prepared.envelope is not None and checked.receipt is not None
    envelope = {k: v for k, v in prepared.envelope.items() if k != "event_id"}
    envelope["decision"] = prepared.envelope["decision"][1]  # fastavro reads a union branch back as its record
    value = decoded(checked.encoded)
    assert value is not None
    value["decision"] = {k: v for k, v in value["decision"].items() if v is not None}  # the absent fields
    assert value == envelope
    assert checked.receipt.status == "pending" and checked.receipt.row == 1


def test_a_dry_run_encodes_nothing() -> None:
    check = RowCheck(AUTHORITY, "penalty", None)
    assert all(c.encoded is None for c in checked_rows(rows(10), check, lambda: NOW, processes=0))


@pytest.mark.usefixtures("small_chunks")
def test_rows_read_before_an_unreadable_part_are_handed_back_before_the_error() -> None:
    def failing() -> Iterator[Row]:
        yield from rows(22)
        raise TemplateError("第 23 行：编码错误")

    check = RowCheck(AUTHORITY, "penalty", SCHEMA_ID)
    handed: list[int] = []
    with pytest.raises(TemplateError, match="第 23 行"):
        for checked in checked_rows(failing(), check, lambda: NOW, processes=2):
            handed.append(checked.row.number)
    assert handed == list(range(1, 23))


@pytest.mark.usefixtures("small_chunks")
def test_rows_of_a_killed_worker_process_are_checked_in_the_caller() -> None:
    import multiprocessing
    import os
    import signal

    check = RowCheck(AUTHORITY, "penalty", SCHEMA_ID)
    here = [comparable(c) for c in checked_rows(rows(200), check, lambda: NOW, processes=0)]
    pooled = []
    for checked in checked_rows(rows(200), check, lambda: NOW, processes=2):
        if checked.row.number == 30:  # past the inline rows: the workers are running
            for child in multiprocessing.active_children():
                os.kill(child.pid or 0, signal.SIGKILL)
        pooled.append(comparable(checked))
    assert pooled == here


@pytest.mark.usefixtures("small_chunks")
def test_worker_processes_that_cannot_start_leave_every_row_to_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoProcesses:  # as when the process limit is reached
        def __init__(self, *_: object, **__: object) -> None:
            pass

        def submit(self, *_: object) -> None:
            raise OSError(11, "Resource temporarily unavailable")

        def shutdown(self, **_: object) -> None:
            pass

    check = RowCheck(AUTHORITY, "penalty", SCHEMA_ID)
    here = [comparable(c) for c in checked_rows(rows(40), check, lambda: NOW, processes=0)]
    monkeypatch.setattr(row_checks, "ProcessPoolExecutor", NoProcesses)
    assert [comparable(c) for c in checked_rows(rows(40), check, lambda: NOW, processes=2)] == here


def test_worker_processes_end_with_a_publishing_process_killed_outright(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    program = (
        "import sys, time\n"
        "from datetime import datetime, UTC\n"
        "from sgs.connectors import row_checks\n"
        "from sgs.connectors.row_checks import RowCheck, checked_rows\n"
        "from tests.unit.test_row_checks import rows, AUTHORITY\n"
        "if __name__ == '__main__':\n"
        "    row_checks.INLINE_ROWS, row_checks.CHUNK_ROWS = 1, 2\n"
        "    checked = checked_rows(rows(10_000), RowCheck(AUTHORITY, 'penalty', None), lambda: datetime.now(UTC),"
        " processes=2)\n"
        "    for _ in range(20):\n"
        "        next(checked)\n"
        "    print('running', flush=True)\n"
        "    time.sleep(60)\n"
    )
    script = tmp_path / "publishing.py"
    script.write_text(program)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}  # for tests.unit
    publishing = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    assert publishing.stdout is not None and publishing.stdout.readline().strip() == "running"
    children = Path(f"/proc/{publishing.pid}/task/{publishing.pid}/children").read_text().split()
    workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    assert len(workers) == 2
    publishing.send_signal(signal.SIGKILL)
    publishing.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "row-checking processes outlived it"
