"""A file's rows checked (validation, ownership, the Avro value) in worker processes, handed back in file order.

Most of a row's time in `sgs publish` goes to work that needs nothing but the row: validation and
normalization, then Avro encoding. The reader and the producer stay in the calling process; chunks of rows go
to a pool of processes and come back in order, with a bounded number of chunks in flight so memory stays flat
in the file's size. The first rows are checked in the calling process, so small files never wait for
processes to start.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sgs.connectors.avro import framed
from sgs.connectors.publisher import Receipt, Status, prepare_upsert
from sgs.connectors.templates import Row, TemplateError
from sgs.core.fields import Kind
from sgs.core.problems import Problem
from sgs.core.validate import DEFAULT_OPTIONS, ValidationOptions
from sgs.schemas.contracts import load_schema

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent ends
INLINE_ROWS = 2_000  # checked in the calling process before any worker starts
CHUNK_ROWS = 500  # rows per task: large enough that pickling and queueing stay a small share
CHUNKS_PER_PROCESS = 2  # in flight per worker: keeps each busy while the caller reads and produces


@dataclass(frozen=True)
class RowCheck:
    """What checking a row needs besides the row: the same for every row of one file."""

    department_code: str
    kind: Kind
    schema_id: int | None  # of the submission schema on the target topic; None: a dry run, nothing encoded
    options: ValidationOptions = DEFAULT_OPTIONS  # the platform's publication rules


class Checked(NamedTuple):
    row: Row
    receipt: Receipt | None  # None: the row could not be read at all (its problems are the row's own)
    encoded: bytes | None  # the value to produce, for a valid row (no problems of its own either) when publishing


class _Answer(NamedTuple):
    """A row's checks as they travel back from a worker: a plain tuple pickles several times faster than the
    receipt dataclass would."""

    decision_id: str | None
    event_id: str
    version: int
    problems: tuple[Problem, ...]
    encoded: bytes | None


@cache
def _submission_schema() -> Any:
    return load_schema("submission")


def _answer(check: RowCheck, values: Mapping[str, object], now: datetime, sendable: bool) -> _Answer:
    """`sendable`: the row has no problems of its own (it is still checked, so the report lists every problem)."""
    prepared = prepare_upsert(
        check.department_code, check.kind, values, source="import", now=now, options=check.options
    )
    receipt, envelope = prepared.receipt, prepared.envelope
    encoded = None
    if check.schema_id is not None and envelope is not None and sendable:
        encoded = framed(check.schema_id, _submission_schema(), envelope)
    return _Answer(receipt.decision_id, receipt.event_id, receipt.version, receipt.problems, encoded)


def _answers(check: RowCheck, rows: list[tuple[Mapping[str, object], datetime, bool]]) -> list[_Answer]:
    return [_answer(check, values, now, sendable) for values, now, sendable in rows]


def _die_with_parent(parent: int) -> None:
    """A worker's initializer: end when the publishing process ends, however it ends (SIGKILL, the OOM killer),
    rather than wait on its task queue forever."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it ended before the line above
        os._exit(0)


def _checked(check: RowCheck, row: Row, answer: _Answer | None) -> Checked:
    if answer is None:
        return Checked(row, None, None)
    status: Status = "invalid" if answer.problems else "pending"
    receipt = Receipt(
        check.kind, answer.decision_id, answer.event_id, answer.version, status, answer.problems, row=row.number
    )
    return Checked(row, receipt, answer.encoded)


def _check_here(check: RowCheck, row: Row, now: datetime) -> Checked:
    return _checked(check, row, None if _unreadable(row) else _answer(check, row.values, now, not row.problems))


def _unreadable(row: Row) -> bool:
    return bool(row.problems) and not row.values


Chunk = tuple[list[tuple[Row, datetime]], Future[list[_Answer]]]


def checked_rows(
    rows: Iterator[Row], check: RowCheck, clock: Callable[[], datetime], *, processes: int
) -> Iterator[Checked]:
    """Every row of `rows` checked, in order; with `processes` ≥ 1, rows after the first `INLINE_ROWS` by that
    many worker processes (if they fail — one died, none could start — the rest are checked here). Each row is
    checked as of `clock()` when it was read. A `TemplateError` from the reader is raised after every row read
    before it has been handed back."""
    pool: ProcessPoolExecutor | None = None
    in_flight: deque[Chunk] = deque()
    chunk: list[tuple[Row, datetime]] = []
    broken = False

    def submit() -> None:
        nonlocal pool, chunk
        if pool is None:
            # Spawned, not forked: the caller's producer has librdkafka threads that a fork would copy.
            pool = ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        readable = [(row.values, now, not row.problems) for row, now in chunk if not _unreadable(row)]
        try:
            future = pool.submit(_answers, check, readable)
        except Exception as exc:  # a broken pool, no process could start: answered as a chunk whose worker died
            future = Future()
            future.set_exception(exc)
        in_flight.append((chunk, future))
        chunk = []

    def handed_back(done: Chunk) -> Iterator[Checked]:
        nonlocal broken
        rows_sent, future = done
        try:
            answers = iter(future.result())
        except Exception as exc:  # a worker was killed (out of memory, a signal) or failed: no row is lost for it
            # Checked again here, a row that fails by itself fails at its own row, after the rows before it.
            log.warning("row checks in worker processes failed (%r); checking the rest in this process", exc)
            broken = True
            yield from (_check_here(check, row, now) for row, now in rows_sent)
            return
        for row, _ in rows_sent:
            yield _checked(check, row, None if _unreadable(row) else next(answers))

    failure: TemplateError | None = None
    try:
        try:
            for count, row in enumerate(rows):
                now = clock()
                if processes < 1 or count < INLINE_ROWS or broken:
                    while in_flight:  # read before this row (left when a worker died)
                        yield from handed_back(in_flight.popleft())
                    yield _check_here(check, row, now)
                    continue
                chunk.append((row, now))
                if len(chunk) == CHUNK_ROWS:
                    submit()
                    if len(in_flight) > CHUNKS_PER_PROCESS * processes:
                        yield from handed_back(in_flight.popleft())
        except TemplateError as exc:
            failure = exc  # the rows read before the unreadable part are still checked and published
        while in_flight:
            yield from handed_back(in_flight.popleft())
        for row, now in chunk:
            yield _check_here(check, row, now)
        if failure is not None:
            raise failure
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
