"""Import a department's file — JSON lines, CSV or XLSX national-standard template — onto Kafka, row by row.

Shared by `sgs publish` and the gateway's `POST /v1/imports`. Rows are streamed (a million-row CSV is never held
in memory): each is checked and sent through the department's `Publisher` (or only checked, in a dry run), and
every row that is not published — invalid, or refused by the broker — is written with its problems to an error
report next to the input, so the clerk can correct exactly those rows and import the report's rows again.

Importing the same file twice publishes nothing twice: every row is keyed by its decision id, and the pipeline
treats the same content under a newer version as a duplicate.
"""

from __future__ import annotations

import csv
import itertools
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sgs.config import Settings
from sgs.connectors.publisher import Prepared, Publisher, Receipt, prepare_upsert, validation_options
from sgs.connectors.row_checks import RowCheck, checked_rows
from sgs.connectors.templates import (
    EXCEL_CELL_LIMIT,
    Row,
    TemplateError,
    detect_kind,
    file_format,
    read_rows,
    workbook_kind,
)
from sgs.core.fields import Kind, kind_table
from sgs.core.problems import Problem
from sgs.core.text import without_surrogates
from sgs.core.validate import DEFAULT_OPTIONS, ValidationOptions

REPORT_PROBLEMS = "问题"
REPORT_ROW = "原行号"


@dataclass
class ImportSummary:
    """What became of one file's rows. `published` counts rows the broker acknowledged."""

    file: str
    kind: Kind
    dry_run: bool
    read: int = 0
    invalid: int = 0
    published: int = 0
    failed: int = 0
    problem_codes: Counter[str] = field(default_factory=Counter)
    report: Path | None = None
    # The first rows that were not published, for a caller that shows them (the gateway's response).
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> int:
        return self.read - self.invalid

    @property
    def complete(self) -> bool:
        """Every row read was published (or, in a dry run, is valid)."""
        return self.invalid == 0 and self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "dry_run": self.dry_run,
            "read": self.read,
            "valid": self.valid,
            "invalid": self.invalid,
            "published": self.published,
            "failed": self.failed,
            "problem_codes": dict(self.problem_codes.most_common()),
            "report": str(self.report) if self.report else None,
            "rows_not_published": self.examples,
        }


def report_path(path: Path) -> Path:
    """Where the error report of `path` goes: beside it, `<name>.errors.xlsx` for workbooks, else `.errors.csv`."""
    suffix = ".xlsx" if file_format(path) == "xlsx" else ".csv"
    return path.with_name(f"{path.stem}.errors{suffix}")


NO_ROWS = "文件中没有数据行（为空，或只有表头）"


class PartlyPublishedError(TemplateError):
    """The file turned unreadable past some row, after the rows before it were published (`summary` says so)."""

    def __init__(self, message: str, summary: ImportSummary) -> None:
        super().__init__(message)
        self.summary = summary


def with_kind(rows: Iterator[Row], kind: Kind | None) -> tuple[Kind | None, Iterator[Row]]:
    """The kind (given, or detected from the first readable row's names) and the rows, none lost."""
    if kind is not None:
        return kind, rows
    seen: list[Row] = []
    for row in rows:
        seen.append(row)
        if row.values:
            return detect_kind(row.values), itertools.chain(seen, rows)
    if not seen:
        raise TemplateError(NO_ROWS)  # not "the kind cannot be told": there is nothing to tell it from
    return None, iter(seen)


def rows_with_kind(path: Path, kind: Kind | None) -> tuple[Kind | None, Iterator[Row]]:
    """The rows of `path` and their kind: the one given, else the one a workbook's sheet is named for (行政许可 /
    行政处罚: that sheet is the one read), else the one the header's names show; None when none says."""
    return with_kind(read_rows(path, kind=kind), kind or workbook_kind(path))


def columns_of(row: Row) -> Sequence[tuple[str, object]]:
    """A row's cells under their headers as the file has them: a header given twice keeps both of its cells."""
    return row.columns or tuple(row.values.items())


class ErrorReport:
    """Rows that were not published, with their original cells and problems; the file is made on first use."""

    def __init__(self, path: Path, kind: Kind) -> None:
        self.path, self.kind = path, kind
        self._headers: list[str] | None = None
        self._slots: dict[str, list[int]] = {}  # header -> its columns (more than one: a header given twice)
        self._csv: Any = None
        self._text: IO[str] | None = None
        self._workbook: Any = None
        self._sheet: Any = None

    @property
    def used(self) -> bool:
        return self._headers is not None

    def add(self, row_number: int, columns: Sequence[tuple[str, object]], problems: tuple[Problem, ...]) -> None:
        first = self._headers is None
        cells = self._placed(columns)
        if first:
            assert self._headers is not None
            self._open([REPORT_ROW, REPORT_PROBLEMS, *self._headers])
        described = describe(self.kind, problems)
        if self._sheet is not None:
            headers = self._headers or []
            cut = [h for h, c in zip(headers, cells, strict=True) if isinstance(c, str) and len(c) > EXCEL_CELL_LIMIT]
            if cut:  # openpyxl keeps what Excel can hold; publishing the report again refuses such a cell
                described += (
                    f"；{'、'.join(cut)}超过Excel单元格上限{EXCEL_CELL_LIMIT:,}字，本报告中已截断，请从原文件复制"
                )
        self._write([row_number, described, *cells])

    def _placed(self, columns: Sequence[tuple[str, object]]) -> list[object]:
        """The row's cells in the report's columns: the n-th cell under a header in that header's n-th column.
        Names the report has no column for yet get one at the end (JSON lines need not all carry the same
        names; a header given twice keeps both columns, so publishing the report again cannot pick one)."""
        if self._headers is None:
            self._headers = []
        headers = self._headers
        cells: list[object] = [None] * len(headers)
        seen: dict[str, int] = {}
        for name, value in columns:
            header = without_surrogates(str(name))
            nth = seen[header] = seen.get(header, -1) + 1
            slots = self._slots.setdefault(header, [])
            if nth == len(slots):
                slots.append(len(headers))
                headers.append(header)
                cells.append(None)
            cells[slots[nth]] = _cell(value)
        return cells

    def close(self) -> None:
        if self._text is not None:
            # The header last: JSON lines may bring new names with any row, and a name missing from the header
            # would lose its values when the corrected report is published again.
            assert self._headers is not None
            with self.path.open("w", encoding="utf-8-sig", newline="") as out:  # Excel reads the Chinese
                csv.writer(out).writerow([REPORT_ROW, REPORT_PROBLEMS, *self._headers])
                self._text.seek(0)
                shutil.copyfileobj(self._text, out)
            self._text.close()
        if self._workbook is not None:
            self._workbook.save(self.path)

    def _open(self, header: list[str]) -> None:
        if self.path.suffix == ".xlsx":  # workbook rows all have the sheet's header: it is known at once
            from openpyxl import Workbook

            self._workbook = Workbook(write_only=True)
            self._sheet = self._workbook.create_sheet("未发布的记录")
            self._write(header)
        else:
            self._text = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            self._csv = csv.writer(self._text)

    def _write(self, cells: Sequence[object]) -> None:
        if self._sheet is not None:
            self._sheet.append([self._text_cell(c) if isinstance(c, str) else c for c in cells])
        else:
            self._csv.writerow(cells)

    def _text_cell(self, text: str) -> Any:
        """Text as a text cell: appended as it is, openpyxl makes "=HYPERLINK(…)" a live formula and "#N/A" an
        error value (and refuses control characters). The type set after the value is not guessed from it."""
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self._sheet, value=ooxml_escaped(text))
        cell.data_type = "s"
        return cell


def describe(kind: Kind, problems: tuple[Problem, ...]) -> str:
    """Problems as one cell a clerk reads: `字段：说明 [code]；…`."""
    table = kind_table(kind)
    parts = []
    for problem in problems:
        spec = table.by_name.get(problem.field)
        label = spec.zh if spec is not None else (problem.field or "整条记录")
        # Most messages name their field already (处罚决定日期：无法识别的日期): not twice.
        message = problem.message if problem.message.startswith(label) else f"{label}：{problem.message}"
        parts.append(f"{message} [{problem.code}]")
    return "；".join(parts)


# Characters XML cannot carry (and \r, which XML reads as \n) written as Excel writes them (_x000D_), and text
# that looks like such an escape escaped in turn (_x005F_x000D_): reading the cell gives the text as it was.
_OOXML_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def ooxml_escaped(text: str) -> str:
    """`text` as a workbook's string holds it, so that reading the cell gives `text` again."""
    if "_" not in text and text.isprintable():
        return text
    return _OOXML_UNSAFE.sub(lambda m: f"_x{ord(m[0]):04X}_", text)


def _cell(value: object) -> object:
    if value is None or isinstance(value, int | float):
        return value
    # Dates from workbooks, lists from JSON: as text, never interpreted. A lone surrogate (JSON lines only) is
    # no character a file can hold; the row's problem names it.
    return without_surrogates(value if isinstance(value, str) else str(value))


EXAMPLES = 20
DEFAULT_MESSAGE_TIMEOUT_MS = 300_000  # librdkafka's message.timeout.ms


def import_file(
    path: Path,
    *,
    department_code: str,
    kind: Kind | None = None,
    publish_to: Settings | None = None,
    producer_config: Mapping[str, Any] | None = None,
    report: Path | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[int], None] | None = None,
    display_name: str | None = None,
    processes: int = 0,
    options: ValidationOptions | None = None,
) -> ImportSummary:
    """Check every row of `path` and publish the valid ones to the platform of `publish_to` (None: a dry run).
    With `processes` ≥ 1, rows past the first few thousand are checked by that many worker processes.
    `options`: validation with the platform's publication rules; None: those of `publish_to` (the national
    defaults for a dry run without them).

    Waits for the broker's answer to every row before it returns. Raises `TemplateError` when the file cannot
    be read at all (or its kind cannot be told from its header)."""
    if options is None:
        options = validation_options(publish_to) if publish_to is not None else DEFAULT_OPTIONS
    found_kind, rows = rows_with_kind(path, kind)
    if found_kind is None:
        raise TemplateError("无法从表头判断是行政许可还是行政处罚，请指定类型（licence 或 penalty）")
    summary = ImportSummary(display_name or path.name, found_kind, dry_run=publish_to is None)
    target = report or report_path(path)
    errors = ErrorReport(target, found_kind)
    in_flight: dict[str, Row] = {}

    def not_published(row: Row, problems: tuple[Problem, ...]) -> None:
        summary.problem_codes.update(p.code for p in problems)
        errors.add(row.number, columns_of(row), problems)
        if len(summary.examples) < EXAMPLES:
            summary.examples.append({"row": row.number, "problems": [p.as_dict() for p in problems]})

    def answered(receipt: Receipt) -> None:
        if receipt.status == "invalid":
            return  # counted where it was checked
        row = in_flight.pop(receipt.event_id, None) or Row(receipt.row or 0, {})
        if receipt.status == "accepted":
            summary.published += 1
        elif receipt.status == "failed":
            summary.failed += 1
            problem = Problem("", "broker.failed", f"Kafka未确认接收：{receipt.error}")
            not_published(row, (problem,))

    publisher = None
    if publish_to is not None:
        publisher = Publisher(
            department_code,
            settings=publish_to,
            source="import",
            clock=clock,
            producer_config=producer_config,
            on_result=answered,
            keep_results=False,
            options=options,
        )
    # Every row gets the broker's own answer (delivered, or failed after its delivery timeout), not a guess.
    answer_s = float((producer_config or {}).get("message.timeout.ms", DEFAULT_MESSAGE_TIMEOUT_MS)) / 1000 + 5
    check = RowCheck(department_code, found_kind, publisher.schema_id if publisher is not None else None, options)
    try:
        try:
            for row, receipt, encoded in checked_rows(rows, check, clock, processes=processes):
                summary.read += 1
                problems = row.problems
                if receipt is not None:
                    problems += receipt.problems
                    if not problems and publisher is not None and receipt.decision_id is not None:
                        prepared = Prepared(receipt, None)
                        version = publisher.versions.next(receipt.decision_id, receipt.version)
                        if version != receipt.version:
                            # The decision again within one millisecond (its correction, a few rows on): checked
                            # again with the next version, so the later row wins as the clerk expects.
                            prepared = prepare_upsert(
                                department_code,
                                found_kind,
                                row.values,
                                source="import",
                                now=clock(),
                                version=version,
                                options=options,
                            )
                            prepared.receipt.row, encoded = row.number, None
                            problems += prepared.receipt.problems
                        if not problems:
                            in_flight[prepared.receipt.event_id] = row
                            publisher.send(prepared, encoded=encoded)
                if problems:
                    summary.invalid += 1
                    not_published(row, problems)
                if progress is not None:
                    progress(summary.read)
        except TemplateError as exc:
            # Unreadable past some row (a bad byte or a broken quote deep in the file): the rows before it were
            # sent. Say so, rather than leave the clerk believing nothing of the file was published.
            if publisher is None:
                raise
            publisher.flush(answer_s)
            raise PartlyPublishedError(
                f"{exc}（此前已读 {summary.read} 行，其中 {summary.published} 行已发布；"
                "改正文件后重新发布，已发布的不会重复发布）",
                summary,
            ) from exc
        if publisher is not None:
            publisher.flush(answer_s)
        if summary.read == 0:  # "read 0 rows" with exit 0 would look like success
            raise TemplateError(NO_ROWS)
    finally:
        errors.close()
    summary.report = target if errors.used else None
    if not errors.used and target.exists():
        target.unlink()  # an old report of this file no longer tells the truth
    return summary
