from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from sgs.connectors.templates import Row, TemplateError, detect_encoding, detect_kind, read_rows
from sgs.core.fields import fields_of
from sgs.core.validate import validate

from .factories import TODAY, chinese, licence, penalty


def _csv_text(records: list[dict[str, object]], headers: list[str] | None = None) -> str:
    headers = headers or list(records[0])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for record in records:
        writer.writerow([record.get(h, "") for h in headers])
    return out.getvalue()


def _valid(kind: str, row: Row) -> bool:
    return validate(kind, row.values, today=TODAY).publishable


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "penalty.csv"
    path.write_bytes(_csv_text([chinese("penalty", penalty())] * 2).encode(encoding))
    rows = list(read_rows(path))
    assert [r.number for r in rows] == [2, 3]
    assert all(_valid("penalty", r) for r in rows)
    assert "行政相对人名称" in rows[0].values  # no BOM glued to the first header


def test_encoding_detection() -> None:
    assert detect_encoding("行政处罚".encode()) == "utf-8-sig"
    assert detect_encoding("行政处罚".encode("gbk")) == "gb18030"
    assert detect_encoding("行政处罚".encode()[:-1]) == "utf-8-sig"  # a sample cut inside a character


def test_shuffled_and_renamed_columns(tmp_path: Path) -> None:
    record = chinese("penalty", penalty())
    record["处罚金额（万元）"] = record.pop("罚款金额（万元）")
    record["CF_WSH"] = record.pop("行政处罚决定书文号")
    record["序号"] = "1"
    headers = list(record)
    random.Random(3).shuffle(headers)
    path = tmp_path / "p.csv"
    path.write_text(_csv_text([record], headers), encoding="utf-8")
    (row,) = read_rows(path)
    result = validate("penalty", row.values, today=TODAY)
    assert result.publishable and result.unknown_fields == ("序号",)


def test_csv_title_row_and_empty_rows(tmp_path: Path) -> None:
    text = "行政处罚信息公示表,,\n" + _csv_text([chinese("penalty", penalty())]) + ",,\n\n"
    text += _csv_text([chinese("penalty", penalty())]).split("\n", 1)[1]
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    rows = list(read_rows(path))
    assert [r.number for r in rows] == [3, 6]
    assert all(_valid("penalty", r) for r in rows)


def test_jsonl_with_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    lines = [json.dumps(licence(), ensure_ascii=False), "{not json", "", "[1, 2]", json.dumps(licence())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(read_rows(path))
    assert [r.number for r in rows] == [1, 2, 4, 5]
    assert [bool(r.problems) for r in rows] == [False, True, True, False]
    assert rows[1].problems[0].code == "row.malformed"
    assert _valid("licence", rows[0]) and _valid("licence", rows[3])


def _workbook(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> None:
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


def test_xlsx_with_empty_rows_and_native_cells(tmp_path: Path) -> None:
    headers = [f.zh for f in fields_of("licence") if f.name in licence()]
    record = chinese("licence", licence())
    cells = [record[h] for h in headers]
    typed = list(cells)
    typed[headers.index("许可决定日期")] = datetime(2025, 6, 3)
    typed[headers.index("当前状态")] = 1
    path = tmp_path / "l.xlsx"
    _workbook(path, {"Sheet1": [[], headers, cells, [], [None] * len(headers), typed]})
    rows = list(read_rows(path))
    assert [r.number for r in rows] == [3, 6]
    assert all(_valid("licence", r) for r in rows)


def test_xlsx_picks_the_sheet_of_the_kind_and_spreads_merged_cells(tmp_path: Path) -> None:
    headers = [f.zh for f in fields_of("penalty") if f.name in penalty()]
    record = chinese("penalty", penalty())
    first = [record[h] for h in headers]
    second = [record[h] if h != "处罚机关" else None for h in headers]
    second[headers.index("行政处罚决定书文号")] = "信市监罚〔2025〕13号"
    path = tmp_path / "both.xlsx"
    _workbook(path, {"行政许可": [["x"]], "行政处罚": [["行政处罚信息表"], headers, first, second]})
    book = openpyxl.load_workbook(path)
    column = get_column_letter(headers.index("处罚机关") + 1)
    book["行政处罚"].merge_cells(f"{column}3:{column}4")
    book["行政处罚"].merge_cells(f"A1:{get_column_letter(len(headers))}1")
    book.save(path)
    rows = list(read_rows(path, kind="penalty"))
    assert [r.number for r in rows] == [3, 4]
    assert rows[1].values["处罚机关"] == "信阳市市场监督管理局"
    assert all(_valid("penalty", r) for r in rows)


def test_duplicate_columns_with_different_values(tmp_path: Path) -> None:
    record = chinese("penalty", penalty())
    headers = [*record, "违法事实"]
    path = tmp_path / "d.csv"
    text = ",".join(headers) + "\n" + ",".join(f'"{record[h]}"' for h in headers[:-1]) + ",另一事实\n"
    path.write_text(text, encoding="utf-8")
    (row,) = read_rows(path)
    assert [p.code for p in row.problems] == ["field.duplicate"] and row.problems[0].field == "facts"


def test_detect_kind() -> None:
    assert detect_kind([f.zh for f in fields_of("licence")]) == "licence"
    assert detect_kind([f.code for f in fields_of("penalty")]) == "penalty"
    assert detect_kind(["行政相对人名称", "处罚类别"]) == "penalty"
    assert detect_kind(["行政相对人名称", "备注"]) is None
    assert detect_kind(["a", "b"]) is None


def test_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        read_rows(tmp_path / "missing.csv")
    with pytest.raises(TemplateError):
        read_rows(tmp_path / "x.pdf")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(TemplateError):
        list(read_rows(broken))
    bad = tmp_path / "bad.csv"
    bad.write_bytes("行政相对人名称\n".encode() + b"\xff\xfe\xfa\n" * 10)  # neither UTF-8 nor GB18030
    with pytest.raises(TemplateError):
        list(read_rows(bad))


def _penalty_sheet(document_number: str) -> list[list[object]]:
    record = chinese("penalty", penalty(document_number=document_number))
    return [list(record), list(record.values())]


def test_without_a_kind_the_sheet_named_for_a_kind_is_read_not_the_first(tmp_path: Path) -> None:
    from sgs.connectors.templates import workbook_kind

    path = tmp_path / "p.xlsx"
    example: list[list[object]] = [["填写说明：每行一条决定"], *_penalty_sheet("示例〔2025〕1号")]
    _workbook(path, {"填写示例": example, " 行政处罚 ": _penalty_sheet("信市监罚〔2025〕7号")})
    (row,) = read_rows(path)
    assert row.values["行政处罚决定书文号"] == "信市监罚〔2025〕7号"
    assert workbook_kind(path) == "penalty"
    (row,) = read_rows(path, kind="penalty")  # a kind given: its hints, as before
    assert row.values["行政处罚决定书文号"] == "信市监罚〔2025〕7号"


def test_a_sheet_only_holding_a_kinds_name_or_no_named_sheet_leaves_the_first(tmp_path: Path) -> None:
    from sgs.connectors.templates import workbook_kind

    path = tmp_path / "p.xlsx"
    _workbook(
        path, {"Sheet1": _penalty_sheet("信市监罚〔2025〕1号"), "行政处罚示例": _penalty_sheet("示例〔2025〕1号")}
    )
    (row,) = read_rows(path)
    assert row.values["行政处罚决定书文号"] == "信市监罚〔2025〕1号" and workbook_kind(path) is None
    assert workbook_kind(tmp_path / "missing.xlsx") is None and workbook_kind(tmp_path / "p.csv") is None


def test_a_workbook_with_both_named_sheets_needs_a_kind(tmp_path: Path) -> None:
    from sgs.connectors.templates import workbook_kind

    path = tmp_path / "both.xlsx"
    record = chinese("licence", licence())
    licence_sheet: list[list[object]] = [list(record), list(record.values())]
    _workbook(path, {"说明": [["x"]], "行政许可": licence_sheet, "行政处罚": _penalty_sheet("信市监罚〔2025〕1号")})
    with pytest.raises(TemplateError, match="请指定类型"):
        read_rows(path)
    with pytest.raises(TemplateError, match="请指定类型"):
        workbook_kind(path)
    (row,) = read_rows(path, kind="licence")
    assert _valid("licence", row)


def test_a_header_given_twice_keeps_both_cells_in_order(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("行政相对人名称,违法事实,违法事实\n某公司,甲事实,乙事实\n", encoding="utf-8")
    (row,) = read_rows(path)
    assert row.columns == (("行政相对人名称", "某公司"), ("违法事实", "甲事实"), ("违法事实", "乙事实"))
    plain = tmp_path / "p.csv"
    plain.write_text("行政相对人名称,违法事实\n某公司,甲事实\n", encoding="utf-8")
    assert next(read_rows(plain)).columns == ()  # only kept when a header repeats


def test_a_workbook_number_past_15_digits_stays_a_float_so_its_lost_digits_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "n.xlsx"
    _workbook(path, {"Sheet1": [["证件号码", "罚款金额（万元）"], [411502199001011234, 1]]})
    (row,) = read_rows(path)
    assert type(row.values["证件号码"]) is float and row.values["罚款金额（万元）"] == 1
