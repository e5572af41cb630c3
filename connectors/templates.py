"""Read departments' files — JSON lines, CSV, XLSX national-standard templates — as streams of rows.

Rows are numbered as a person sees them: for CSV and XLSX the sheet's row number (header = row 1 in a plain
template; title rows above the header, and skipped empty rows, keep their numbers); for JSON lines, the line
number. CSV and XLSX: the header is the first non-empty row naming a known field (title rows above it are
skipped).

- JSON lines: one object per line; blank lines skipped; a line that is not a JSON object is a row with a
  `row.malformed` problem, not a failure of the file.
- CSV: UTF-8 (with or without BOM) or GBK/GB18030, detected from the first 64 KiB: UTF-8 if that sample
  decodes, else GB18030 (a superset of GBK). Streamed record by record.
- XLSX (via `xlsx_stream`, which streams the sheet's XML out of the zip: memory does not grow with the
  sheet, only with its shared-string table): the sheet named like the kind (行政许可 / 行政处罚) when there
  is one (without a kind: the sheet named 行政许可 or 行政处罚, which then says the kind), else the first
  sheet; fully empty rows are skipped. A merged cell's value is only in its top-left cell: values of merged
  ranges are copied into every row of the range that is not otherwise empty (a clerk merges cells to say
  "same value"). Formula cells give their cached values (what Excel last computed; a file
  written by a library that does not compute formulas has none: the cell reads empty).

Unreadable input (missing file, unknown extension, corrupt workbook, undecodable text) raises
`TemplateError`: the caller reports it and stops.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import IO, Literal

from sgs.connectors.xlsx_stream import XlsxError, open_workbook
from sgs.core.fields import KINDS, Kind, header_key, resolve_header
from sgs.core.problems import Problem

Format = Literal["jsonl", "csv", "xlsx"]
FORMATS: Mapping[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
SAMPLE_BYTES = 64 * 1024
# Sheet names that mark a kind's sheet in a workbook holding both.
SHEET_HINTS: Mapping[Kind, tuple[str, ...]] = {"licence": ("行政许可", "许可"), "penalty": ("行政处罚", "处罚")}
# Without a kind, only a sheet named exactly for one (as headers compare: ` 行政处罚 `) is taken to be its sheet.
_SHEET_KINDS: Mapping[str, Kind] = {header_key(hints[0]): kind for kind, hints in SHEET_HINTS.items()}


class TemplateError(Exception):
    """The file cannot be read at all (as opposed to rows with problems)."""


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # as a person sees it: sheet row (header = 1) or line number
    values: Mapping[str, object]  # header (as written) -> value (str; numbers and dates from XLSX as such)
    problems: tuple[Problem, ...] = ()  # the row could not be read (malformed JSON line, conflicting columns)
    # Only when a header is given twice (`values` then holds one cell per header): every (header, cell) in the
    # file's order, so the error report can give back both cells rather than one of them.
    columns: tuple[tuple[str, object], ...] = ()


def file_format(path: Path) -> Format | None:
    return FORMATS.get(path.suffix.lower())


def read_rows(path: Path, *, kind: Kind | None = None) -> Iterator[Row]:
    """The rows of a file, streamed. `kind` only chooses the sheet of a workbook holding both kinds."""
    fmt = file_format(path)
    if fmt is None:
        raise TemplateError(f"不支持的文件类型“{path.suffix}”（可用：{'、'.join(sorted(FORMATS))}）")
    if not path.is_file():
        raise TemplateError(f"文件不存在：{path}")
    if fmt == "jsonl":
        return _jsonl_rows(path)
    if fmt == "csv":
        return _csv_rows(path)
    return _xlsx_rows(path, kind)


def detect_kind(headers: Iterable[object]) -> Kind | None:
    """The kind whose field names the headers match better (national codes XK_/CF_, Chinese names, aliases
    and English names); None when they match neither, or both equally."""
    scores = dict.fromkeys(KINDS, 0)
    for header in headers:
        if not isinstance(header, str):
            continue
        for kind in KINDS:
            field = resolve_header(kind, header)
            if field is not None:
                other = "penalty" if kind == "licence" else "licence"
                # Names unique to one kind (XK_/CF_ codes, 许可类别, 处罚类别…) decide; shared ones only count.
                scores[kind] += 10 if resolve_header(other, header) is None else 1
    licence, penalty = scores["licence"], scores["penalty"]
    if licence == penalty:
        return None
    return "licence" if licence > penalty else "penalty"


# --- shared -----------------------------------------------------------------------------------------------------

# Templates often open with a title row (行政处罚信息公示表) or notes above the header. The header is the
# first non-empty row naming at least one known field; if none of the first rows does, the first non-empty
# row is taken as the header anyway (its names then show up as unknown fields).
HEADER_SEARCH_ROWS = 10


def _is_empty(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _names_a_field(cells: Sequence[object]) -> bool:
    return any(isinstance(c, str) and any(resolve_header(k, c) for k in KINDS) for c in cells)


def _table(rows: Iterable[tuple[int, Sequence[object]]]) -> Iterator[Row]:
    """Rows of a sheet or CSV file ((row number, cells), empty rows included) to `Row`s under their header."""
    skipped: list[tuple[int, Sequence[object]]] = []
    headers: list[str] | None = None
    unique = True
    for number, cells in rows:
        if all(_is_empty(c) for c in cells):
            continue
        if headers is not None:
            yield _row(number, headers, cells, unique)
            continue
        if _names_a_field(cells):
            headers = [_header(c) for c in cells]
            unique = _unique(headers)
            continue
        skipped.append((number, cells))
        if len(skipped) == HEADER_SEARCH_ROWS:
            headers = [_header(c) for c in skipped[0][1]]
            unique = _unique(headers)
            for later_number, later in skipped[1:]:
                yield _row(later_number, headers, later, unique)
    if headers is None and skipped:
        first = [_header(c) for c in skipped[0][1]]
        for later_number, later in skipped[1:]:
            yield _row(later_number, first, later, _unique(first))


def _unique(headers: list[str]) -> bool:
    """No header given twice (the usual case: a row is then its cells zipped with the headers)."""
    named = [h for h in headers if h]
    return len(set(named)) == len(named)


def _row(number: int, headers: list[str], cells: Iterable[object], unique: bool) -> Row:
    """A row from positional cells; a header given twice must carry one value (else a problem)."""
    if unique:
        plain = dict(zip(headers, cells, strict=False))
        plain.pop("", None)  # columns without a header
        return Row(number, plain)
    values: dict[str, object] = {}
    problems: list[Problem] = []
    columns = tuple((header, cell) for header, cell in zip(headers, cells, strict=False) if header)
    for header, cell in columns:
        if header in values and not _is_empty(values[header]):
            if not _is_empty(cell) and values[header] != cell:
                problems.append(Problem(_field_name(header), "field.duplicate", f"“{header}”列出现两次，且取值不同"))
            continue
        values[header] = cell
    return Row(number, values, tuple(problems), columns)


def _field_name(header: str) -> str:
    for kind in KINDS:
        field = resolve_header(kind, header)
        if field is not None:
            return field.name
    return header


def _header(cell: object) -> str:
    return cell.strip() if isinstance(cell, str) else "" if cell is None else str(cell)


# --- JSON lines -----------------------------------------------------------------------------------------------


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with _open_text(path) as lines:
        for number, line in enumerate(_decoded(lines, path), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield Row(number, {}, (Problem("", "row.malformed", f"第{number}行不是有效的JSON：{exc}"),))
                continue
            if not isinstance(value, dict):
                yield Row(number, {}, (Problem("", "row.malformed", f"第{number}行应为JSON对象（{{…}}）"),))
                continue
            yield Row(number, value)


# --- CSV -------------------------------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig when the sample decodes as UTF-8 (a BOM is optional), else gb18030 (covers GBK)."""
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _open_text(path: Path) -> IO[str]:
    try:
        with path.open("rb") as raw:
            sample = raw.read(SAMPLE_BYTES)
        encoding = detect_encoding(sample)
        if encoding == "gb18030" and sample.startswith(codecs.BOM_UTF8):
            # GBK text behind a UTF-8 BOM (an editor added one when saving): drop the BOM, read the text.
            binary = path.open("rb")
            binary.seek(len(codecs.BOM_UTF8))
            return io.TextIOWrapper(binary, encoding=encoding, newline="")
        return path.open(encoding=encoding, newline="")
    except OSError as exc:
        raise TemplateError(f"无法读取文件：{exc}") from exc


def _decoded(lines: Iterable[str], path: Path) -> Iterator[str]:
    try:
        yield from lines
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path.name}：文件编码无法识别（既不是UTF-8也不是GBK）：{exc}") from exc


# The csv module refuses a field over 128 KiB and cannot go on past it: one pasted-in cell would stop the file.
# A larger bound lets such a row be read, and refused by validation (a record is at most 100,000 characters)
# while the rows after it are published; the bound still ends an unterminated quote within a few MiB.
CSV_FIELD_LIMIT = 8 * 1024 * 1024


def _csv_rows(path: Path) -> Iterator[Row]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with _open_text(path) as text:
        reader = csv.reader(_decoded(text, path))
        try:
            yield from _table(enumerate(reader, start=1))
        except csv.Error as exc:
            raise TemplateError(f"{path.name}：CSV格式错误（第{reader.line_num}行）：{exc}") from exc


# --- XLSX ------------------------------------------------------------------------------------------------------


def _cell(value: object) -> object:
    """Workbook cell values as row values: times of day and durations as text, the rest unchanged ("" for
    empty; numbers stay numbers, dates stay dates: the normalizers read them)."""
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if type(value) is int and abs(value) >= EXCEL_EXACT:
        # A workbook stores numbers as doubles, exact to 15 digits: a longer one (an ID number typed into a
        # number cell) may have lost its end, and stays a float so that the field's check can say so.
        return float(value)
    return value


EXCEL_EXACT = 10**15


def _pick_sheet(names: list[str], kind: Kind | None) -> int:
    """The sheet to read: given a kind, the first whose name holds one of its hints; else the one sheet named
    for a kind (行政许可 or 行政处罚: a workbook often opens with a 填写说明 or 填写示例 sheet); else the first."""
    if kind is None:
        named = _named_sheet(names)
        return named[0] if named is not None else 0
    for hint in SHEET_HINTS[kind]:
        for index, name in enumerate(names):
            if hint in name:
                return index
    return 0


def _named_sheet(names: list[str]) -> tuple[int, Kind] | None:
    """(index, kind) of the first sheet named exactly for a kind (compared as headers are), when only one kind
    has such a sheet; None when neither has. A workbook with both cannot say which to read: refused."""
    named: dict[Kind, int] = {}
    for index, name in enumerate(names):
        kind = _SHEET_KINDS.get(header_key(name))
        if kind is not None:
            named.setdefault(kind, index)
    if len(named) > 1:
        raise TemplateError("工作簿中既有“行政许可”又有“行政处罚”工作表，请指定类型（licence 或 penalty）")
    return next(((index, kind) for kind, index in named.items()), None)


def workbook_kind(path: Path) -> Kind | None:
    """The kind a workbook's sheet names say when no kind is given (the sheet `read_rows` then reads is named
    行政许可 or 行政处罚); None for other files and for workbooks without such a sheet."""
    if file_format(path) != "xlsx" or not path.is_file():
        return None  # read_rows says what is wrong with it
    try:
        named = _named_sheet(open_workbook(path).sheet_names)
    except XlsxError as exc:
        raise TemplateError(f"无法读取工作簿 {path.name}：{exc}") from exc
    return named[1] if named is not None else None


def _xlsx_rows(path: Path, kind: Kind | None) -> Iterator[Row]:
    try:
        workbook = open_workbook(path)
        sheet = workbook.sheet(_pick_sheet(workbook.sheet_names, kind))
        merged = sheet.merged_cells()
    except XlsxError as exc:
        raise TemplateError(f"无法读取工作簿 {path.name}：{exc}") from exc
    return _whole_cells(_sheet_rows(_unbroken(sheet.rows(), path), merged))


# Excel holds at most 32,767 characters in a cell and cuts what is longer (openpyxl too, writing an error
# report): a cell exactly that long has most likely lost its end.
EXCEL_CELL_LIMIT = 32_767


def _whole_cells(rows: Iterator[Row]) -> Iterator[Row]:
    """The rows, a row with a cell as long as Excel allows refused: publishing it would publish cut text."""
    for row in rows:
        full = [h for h, v in row.values.items() if type(v) is str and len(v) >= EXCEL_CELL_LIMIT]
        if full:
            cut = tuple(
                Problem(
                    _field_name(header),
                    "cell.truncated",
                    f"“{header}”一格正好{EXCEL_CELL_LIMIT:,}字，即Excel单元格的上限，内容可能已被截断"
                    "（错误报告中更长的格即被截断）：请核对完整内容，改用CSV或JSON lines提交",
                )
                for header in full
            )
            row = dataclasses.replace(row, problems=row.problems + cut)
        yield row


def _unbroken(rows: Iterator[list[object]], path: Path) -> Iterator[list[object]]:
    """The sheet's rows; a sheet found corrupt part way through raises `TemplateError`, as at the start."""
    try:
        yield from rows
    except XlsxError as exc:
        raise TemplateError(f"无法读取工作簿 {path.name}：{exc}") from exc


def _sheet_rows(
    rows: Iterable[Sequence[object]], merged: list[tuple[tuple[int, int], tuple[int, int]]]
) -> Iterator[Row]:
    return _table(_spread_merged(rows, merged))


def _spread_merged(
    rows: Iterable[Sequence[object]], merged: list[tuple[tuple[int, int], tuple[int, int]]]
) -> Iterator[tuple[int, list[object]]]:
    """(sheet row number, cells) with each merged range's value copied into all of its cells.

    `rows` start at the sheet's first row and first column (empty rows included); merged ranges are
    ((top, left), (bottom, right)), 0-based and inclusive. Rows that are not empty are padded with "" to the
    widest row so far (the XML leaves trailing empty cells out): every row after the header carries all of its
    columns. An empty row stays as it is (cheap to skip, however wide the sheet)."""
    starting: dict[int, list[tuple[int, int, int]]] = {}  # top row -> (left, right, bottom)
    for (top, left), (bottom, right) in merged:
        starting.setdefault(top, []).append((left, right, bottom))
    active: list[tuple[int, int, int, object]] = []  # (bottom, left, right, value) of ranges being read
    first_end = -1  # the first row past which a range in `active` ends
    width = 0
    for index, raw_cells in enumerate(rows):
        cells = [c if type(c) is str else _cell(c) for c in raw_cells]
        empty = all(_is_empty(c) for c in cells)
        if len(cells) >= width:
            width = len(cells)
        elif not empty:
            cells.extend([""] * (width - len(cells)))
        for left, right, bottom in starting.get(index, ()):
            value = cells[left] if 0 <= left < len(cells) else ""
            active.append((bottom, left, right, value))
            first_end = bottom if first_end < 0 else min(first_end, bottom)
        if active and first_end < index:  # ranges ended: dropped (not scanned again for every row)
            active = [spread for spread in active if spread[0] >= index]
            first_end = min((spread[0] for spread in active), default=-1)
        # An empty row inside a merged range stays empty: it is a gap between records, not a record.
        if active and not empty:
            for _, left, right, value in active:
                for column in range(max(left, 0), min(right + 1, len(cells))):
                    if _is_empty(cells[column]):
                        cells[column] = value
        yield index + 1, cells
