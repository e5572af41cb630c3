"""Importing department files without a broker (dry runs): encodings, headers, workbooks, error reports, CLI."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from sgs.cli.main import cli
from sgs.connectors.importer import REPORT_PROBLEMS, REPORT_ROW, import_file, report_path
from sgs.core.fields import fields_of

from .factories import AUTHORITY, DISTRICT_AUTHORITY, chinese, penalty


def write_csv(path: Path, records: list[dict[str, object]], encoding: str = "utf-8", bom: bool = False) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(records[0]))
    for record in records:
        writer.writerow([record.get(name, "") for name in records[0]])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding))


def numbered(count: int) -> list[dict[str, object]]:
    return [chinese("penalty", penalty(document_number=f"信市监罚〔2025〕{n}号")) for n in range(1, count + 1)]


def dry_run(path: Path, department: str = AUTHORITY):  # type: ignore[no-untyped-def]
    return import_file(path, department_code=department)


def test_a_gbk_csv_behind_a_utf8_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "处罚.csv"
    write_csv(path, numbered(3), encoding="gbk", bom=True)
    summary = dry_run(path)
    assert (summary.kind, summary.read, summary.invalid, summary.report) == ("penalty", 3, 0, None)


def test_shuffled_and_renamed_columns_mean_the_same_fields(tmp_path: Path) -> None:
    record = penalty()
    codes = {f.name: f.code for f in fields_of("penalty")}
    # National codes for some, English names for others, a variant Chinese spelling, in reverse order.
    renamed = {(codes[k] if i % 2 else k): v for i, (k, v) in enumerate(record.items())}
    renamed.pop("fine_amount", None)
    renamed.pop(codes["fine_amount"], None)
    renamed["处罚金额(万元) "] = "0.2"
    path = tmp_path / "p.csv"
    write_csv(path, [dict(reversed(list(renamed.items())))])
    summary = dry_run(path)
    assert summary.invalid == 0, summary.examples


def test_invalid_rows_go_to_a_report_with_their_cells_and_reasons(tmp_path: Path) -> None:
    rows = numbered(4)
    rows[1]["处罚决定日期"] = "2025-02-30"
    rows[3]["行政相对人名称"] = "<script>alert(1)</script>"  # text, kept as text: not a problem in itself
    rows[2]["数据来源单位统一社会信用代码"] = DISTRICT_AUTHORITY
    path = tmp_path / "p.csv"
    write_csv(path, rows)
    summary = dry_run(path)
    assert (summary.read, summary.invalid) == (4, 2)
    assert summary.report == report_path(path) == tmp_path / "p.errors.csv"
    with summary.report.open(encoding="utf-8-sig", newline="") as report:
        lines = list(csv.DictReader(report))
    assert [line[REPORT_ROW] for line in lines] == ["3", "4"]
    assert "date.invalid" in lines[0][REPORT_PROBLEMS] and lines[0]["处罚决定日期"] == "2025-02-30"
    assert "department.not_own" in lines[1][REPORT_PROBLEMS]
    # Corrected, the same file leaves no stale report behind.
    write_csv(path, numbered(4))
    assert dry_run(path).report is None and not (tmp_path / "p.errors.csv").exists()


def test_workbooks_with_title_rows_merged_cells_empty_rows_and_formulas(tmp_path: Path) -> None:
    records = numbered(3)
    headers = list(records[0])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行政处罚"
    sheet.append(["行政处罚决定信息公示表"])  # a title row above the header
    sheet.append(headers)
    for number, record in enumerate(records):
        sheet.append(list(record.values()))
        if number == 0:
            sheet.append([])  # an empty row between records
    authority = headers.index("处罚机关") + 1
    sheet.merge_cells(start_row=3, start_column=authority, end_row=6, end_column=authority)  # "same authority"
    sheet.cell(row=6, column=headers.index("罚款金额（万元）") + 1, value="=0.1*2")  # no cached value: empty
    path = tmp_path / "p.xlsx"
    book.save(path)
    summary = dry_run(path)
    assert summary.read == 3 and summary.invalid == 1, summary.examples
    assert summary.examples[0]["row"] == 6
    assert {p["code"] for p in summary.examples[0]["problems"]} == {"field.required"}
    assert summary.report == tmp_path / "p.errors.xlsx"
    report = load_workbook(summary.report, read_only=True).active
    assert report is not None
    cells = list(report.iter_rows(values_only=True))
    assert cells[0][:2] == (REPORT_ROW, REPORT_PROBLEMS) and cells[1][0] == 6


def test_the_cli_dry_run_summarizes_and_its_exit_code_can_be_trusted(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    write_csv(good, numbered(2))
    rows = numbered(2)
    rows[0]["行政相对人名称"] = ""
    write_csv(bad, rows)
    runner = CliRunner()
    ok = runner.invoke(cli, ["publish", "--department", AUTHORITY, "--dry-run", str(good)])
    assert ok.exit_code == 0 and "有效 2，无效 0" in ok.output, ok.output
    some = runner.invoke(cli, ["publish", "--department", AUTHORITY, "--dry-run", str(good), str(bad)])
    assert some.exit_code == 1 and "bad.errors.csv" in some.output
    unusable = runner.invoke(cli, ["publish", "--department", AUTHORITY, "--dry-run", str(tmp_path / "x.pdf")])
    assert unusable.exit_code == 2 and "不支持的文件类型" in unusable.output
    wrong_code = runner.invoke(cli, ["publish", "--department", "91411502MA40XXXX1X", "--dry-run", str(good)])
    assert wrong_code.exit_code == 2 and "统一社会信用代码" in wrong_code.output


def test_a_file_without_data_rows_is_unusable_not_a_success(tmp_path: Path) -> None:
    """ "读取 0 行" with exit 0 looked like a file published; the clerk sent the wrong file."""
    empty, header_only = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_bytes(b"")
    write_csv(header_only, numbered(1))
    header_only.write_text(header_only.read_text(encoding="utf-8").splitlines()[0] + "\n\n\n", encoding="utf-8")
    runner = CliRunner()
    for path, kind in ((empty, []), (header_only, []), (header_only, ["--kind", "penalty"])):
        result = runner.invoke(cli, ["publish", "--department", AUTHORITY, "--dry-run", *kind, str(path)])
        assert result.exit_code == 2 and "没有数据行" in result.output, result.output


def test_a_million_row_csv_is_streamed_in_flat_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("行政相对人名称,行政处罚决定书文号,处罚决定日期\n")
        out.writelines(f"信阳市某某{n}公司,信市监罚〔2025〕{n}号,2025-06-03\n" for n in range(1_000_000))
    # Read it in a process of its own, whose peak RSS is then the reader's alone (the file is 60 MB; held
    # whole as rows it would take well over a gigabyte).
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from sgs.connectors.templates import read_rows\n"
        "rows = sum(1 for _ in read_rows(Path(sys.argv[1])))\n"
        # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
        "peak = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM'))\n"
        "print(rows, int(peak.split()[1]) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True, text=True, check=True)
    rows, peak_mib = map(int, done.stdout.split())
    assert rows == 1_000_000
    assert peak_mib < 150, f"reading peaked at {peak_mib} MiB"


def test_json_lines_bringing_new_names_keep_them_in_the_report(tmp_path: Path) -> None:
    import json

    first = penalty(document_number="信市监罚〔2025〕1号", decision_date="2025-02-30")
    later = penalty(document_number="信市监罚〔2025〕2号", decision_date="2025-02-30")
    facts = first.pop("facts")
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (first, later)) + "\n", encoding="utf-8")
    summary = dry_run(path)
    assert summary.report is not None
    with summary.report.open(encoding="utf-8-sig", newline="") as report:
        lines = list(csv.DictReader(report))
    # "facts" first came with the second line: it has a column of its own, so publishing the report again
    # after correcting the dates loses nothing.
    assert [line["facts"] or "" for line in lines] == ["", facts]


def test_a_file_unreadable_past_some_rows_says_how_many_were_published(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from sgs.config import Settings
    from sgs.connectors import importer
    from sgs.connectors.publisher import Versions
    from sgs.connectors.templates import TemplateError

    class Publisher:  # accepts every row at once
        def __init__(self, *_: object, on_result, **__: object) -> None:  # type: ignore[no-untyped-def]
            self.on_result = on_result
            self.versions = Versions()

        schema_id = 1

        def send(self, prepared, encoded: bytes) -> None:  # type: ignore[no-untyped-def]
            prepared.receipt.status = "accepted"
            self.on_result(prepared.receipt)

        def flush(self, timeout: float) -> None:
            pass

    monkeypatch.setattr(importer, "Publisher", Publisher)
    path = tmp_path / "p.csv"
    write_csv(path, numbered(400))
    path.write_bytes(path.read_bytes() + "信阳,".encode("gbk") + b"\n")  # not UTF-8, past the sampled start
    with pytest.raises(TemplateError, match=r"其中 \d+ 行已发布") as raised:
        import_file(path, department_code=AUTHORITY, publish_to=Settings())
    assert isinstance(raised.value, importer.PartlyPublishedError)  # the gateway answers the counts too
    assert 0 < raised.value.summary.published == raised.value.summary.read <= 400


# Text → the string the input workbook holds for it (Excel's escapes for what XML cannot carry, and for the text
# of an escape itself).
LOOKS_LIKE_A_FORMULA = {text: text for text in ('=HYPERLINK("http://evil.example","点我")', "#N/A", "=1+1")}
NEEDS_ESCAPES = {"a_x000D_b": "a_x005F_x000D_b", "行一\r\n行二": "行一_x000D_\n行二", "控制\x01符": "控制_x0001_符"}


def _sheet_xml(path: Path) -> str:
    import zipfile

    with zipfile.ZipFile(path) as book:
        return "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/"))


@pytest.mark.parametrize("texts", [LOOKS_LIKE_A_FORMULA, NEEDS_ESCAPES], ids=["formulas", "escapes"])
def test_the_workbook_report_holds_text_as_text_never_a_formula(tmp_path: Path, texts: dict[str, str]) -> None:
    from sgs.connectors.templates import read_rows

    records = numbered(len(texts))
    headers = list(records[0])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "行政处罚"
    sheet.append(headers)
    for record, stored in zip(records, texts.values(), strict=True):
        sheet.append([*record.values()][:-1])
        cell = sheet.cell(row=sheet.max_row, column=headers.index("行政相对人名称") + 1, value=stored)
        cell.data_type = "s"  # a text cell, as Excel keeps text typed after an apostrophe
    path = tmp_path / "p.xlsx"
    book.save(path)
    read = [row.values["行政相对人名称"] for row in read_rows(path)]
    assert read == list(texts)  # the input holds these texts (as Excel writes them)
    summary = dry_run(path)  # every row lacks its last column: all in the report
    assert summary.invalid == len(texts) and summary.report == tmp_path / "p.errors.xlsx"
    assert "<f>" not in _sheet_xml(summary.report) and 't="e"' not in _sheet_xml(summary.report)
    again = [row.values["行政相对人名称"] for row in read_rows(summary.report)]
    assert again == list(texts)  # publishing the corrected report gives the same text
    report = load_workbook(summary.report).active
    assert report is not None
    column = [cells[2 + headers.index("行政相对人名称")] for cells in report.iter_rows(min_row=2, values_only=True)]
    if texts is LOOKS_LIKE_A_FORMULA:
        assert column == list(texts)  # what Excel shows: the text, not a link or an error


def test_a_header_given_twice_keeps_both_columns_in_the_report(tmp_path: Path) -> None:
    record = numbered(1)[0]
    headers = [*record, "违法事实"]
    cells = [*record.values(), "另一事实"]
    csv_path = tmp_path / "p.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([headers, cells])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    sheet.append(cells)
    xlsx_path = tmp_path / "p.xlsx"
    book.save(xlsx_path)
    for path in (csv_path, xlsx_path):
        summary = dry_run(path)
        assert summary.invalid == 1 and summary.problem_codes["field.duplicate"] == 1
        assert summary.report is not None
        if path.suffix == ".csv":
            with summary.report.open(encoding="utf-8-sig", newline="") as report:
                written = list(csv.reader(report))
        else:
            sheet_rows = load_workbook(summary.report).active
            assert sheet_rows is not None
            written = [["" if c is None else str(c) for c in r] for r in sheet_rows.iter_rows(values_only=True)]
        assert written[0][2:] == headers  # both columns, where they were
        assert written[1][2:] == [str(c) for c in cells]
        # Published again as it is, the report is refused again: it cannot silently pick one of the two.
        assert dry_run(summary.report).problem_codes["field.duplicate"] == 1


def test_a_workbooks_named_sheet_says_its_kind(tmp_path: Path) -> None:
    records = numbered(2)
    book = Workbook()
    example = book.active
    assert example is not None
    example.title = "填写示例"
    example.append(["序号", "说明"])
    example.append(["1", "示例行"])
    sheet = book.create_sheet("行政处罚")
    shared = ["行政相对人名称", "行政相对人代码_1（统一社会信用代码）"]  # in both kinds: the header cannot tell
    sheet.append(shared)
    for record in records:
        sheet.append([record[name] for name in shared])
    path = tmp_path / "p.xlsx"
    book.save(path)
    summary = dry_run(path)
    assert (summary.kind, summary.read) == ("penalty", 2)


def test_a_problem_cell_names_each_field_once() -> None:
    from sgs.connectors.importer import describe
    from sgs.core.problems import Problem

    problems = (
        Problem("decision_date", "date.unparsable", "处罚决定日期：无法识别的日期“明天”"),
        Problem("fine_amount", "amount.negative", "不能为负数"),
    )
    assert describe("penalty", problems) == (
        "处罚决定日期：无法识别的日期“明天” [date.unparsable]；罚款金额（万元）：不能为负数 [amount.negative]"
    )


def test_one_oversized_cell_refuses_its_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    rows = numbered(3)
    rows[1]["违法事实"] = "违" * 200_000  # over the csv module's own 128 KiB field limit
    path = tmp_path / "big.csv"
    write_csv(path, rows)
    summary = import_file(path, department_code=AUTHORITY)
    assert (summary.read, summary.invalid) == (3, 1)
    assert summary.problem_codes["record.too_large"] == 1


def test_a_lone_surrogate_from_json_lines_is_refused_and_reported_not_a_crash(tmp_path: Path) -> None:
    import json

    record = penalty(document_number="信市监罚〔2025〕1号", subject_name="某某\ud800公司")
    record["备注\udc80"] = "x"
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="ascii")  # json's \ud800 escapes: valid JSON text
    summary = dry_run(path)
    assert summary.invalid == 1 and summary.report is not None
    with summary.report.open(encoding="utf-8-sig", newline="") as report:
        (line,) = list(csv.DictReader(report))
    assert line["subject_name"] == "某某\ufffd公司" and line["备注\ufffd"] == "x"
    assert "U+D800" in line[REPORT_PROBLEMS]


def test_a_cell_cut_to_excels_limit_in_a_workbook_report_is_refused_when_published_again(tmp_path: Path) -> None:
    """Excel (and openpyxl) hold 32,767 characters a cell: publishing the report unchanged must not publish the
    cut text as if it were the decision's."""
    from sgs.connectors.templates import EXCEL_CELL_LIMIT

    record = numbered(1)[0] | {"违法事实": "违" * 40_000, "处罚决定日期": "2025-02-30"}
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(record))
    sheet.append(list(record.values()))
    path = tmp_path / "p.xlsx"
    book.save(path)  # openpyxl cuts the 40,000 characters as Excel would: the input itself is cut
    first = dry_run(path)
    assert first.invalid == 1 and first.problem_codes["cell.truncated"] == 1
    assert first.report is not None
    report = load_workbook(first.report).active
    assert report is not None
    (cells,) = report.iter_rows(min_row=2, values_only=True)
    assert len(str(cells[2 + list(record).index("违法事实")])) == EXCEL_CELL_LIMIT
    assert "cell.truncated" in str(cells[1])
    fixed = first.report.with_name("fixed.xlsx")
    report_book = load_workbook(first.report)
    fixed_sheet = report_book.active
    assert fixed_sheet is not None
    fixed_sheet.cell(row=2, column=3 + list(record).index("处罚决定日期"), value="2025-02-03")
    report_book.save(fixed)
    again = dry_run(fixed)  # the date corrected, the cut text left as it is
    assert again.invalid == 1 and set(again.problem_codes) == {"cell.truncated"}
