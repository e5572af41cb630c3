from __future__ import annotations

import re
import tracemalloc
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest

from sgs.connectors import xlsx_stream
from sgs.connectors.templates import TemplateError, read_rows
from sgs.connectors.xlsx_stream import DateKind, SharedStrings, Sheet, XlsxError, date_format_kind, open_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _hand_made(
    path: Path,
    sheets: dict[str, str],
    *,
    shared: Sequence[str] = (),
    styles: str = "",
    workbook_pr: str = "",
) -> Path:
    """A workbook whose parts are written as given: `sheets` maps names to <sheetData>… (inside <worksheet>)
    or to a whole part (<?xml…), `shared` are <si> bodies, `styles` the <styleSheet> body."""
    entries = "".join(f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>' for n, name in enumerate(sheets, start=1))
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(sheets) + 1)
    )
    rels += f'<Relationship Id="rIdS" Type="{DOC_RELS}/sharedStrings" Target="/xl/sharedStrings.xml"/>'
    rels += f'<Relationship Id="rIdT" Type="{DOC_RELS}/styles" Target="styles.xml"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" '
            f'xmlns:r="{DOC_RELS}"><workbookPr {workbook_pr}/><sheets>{entries}</sheets></workbook>',
        )
        archive.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{RELS}">{rels}</Relationships>')
        archive.writestr(
            "xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{"".join(f"<si>{s}</si>" for s in shared)}</sst>'
        )
        archive.writestr("xl/styles.xml", f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>')
        for n, body in enumerate(sheets.values(), start=1):
            part = (
                body
                if body.startswith("<?xml")
                else f'<?xml version="1.0"?>\n<worksheet xmlns="{MAIN}">{body}</worksheet>'
            )
            archive.writestr(f"xl/worksheets/sheet{n}.xml", part)
    return path


def _openpyxl(path: Path, rows: Sequence[Sequence[object]], formats: dict[str, str] | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for ref, code in (formats or {}).items():
        sheet[ref].number_format = code
    book.save(path)
    return path


def _parsed_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sheet read by the pull parser, as when the tokenizer hands over at once."""

    def refuse(self: Sheet) -> Iterator[list[object]]:
        raise xlsx_stream._Unsupported
        yield []

    monkeypatch.setattr(Sheet, "_fast_rows", refuse)


def _rows(path: Path, index: int = 0) -> list[list[object]]:
    return list(open_workbook(path).sheet(index).rows())


@pytest.fixture(params=["tokenizer", "parser"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test through both ways of reading a sheet: they must give the same rows."""
    if request.param == "parser":
        _parsed_only(monkeypatch)
    return str(request.param)


def test_strings_numbers_and_booleans(tmp_path: Path, reader: str) -> None:
    path = _openpyxl(tmp_path / "b.xlsx", [["名称", 1, 2.5, 2.0, True, False, None, "", -3, 1e20]])
    assert _rows(path) == [["名称", 1, 2.5, 2, True, False, "", "", -3, 10**20]]
    assert [type(v) for v in _rows(path)[0][1:4]] == [int, float, int]


def test_shared_and_inline_strings(tmp_path: Path, reader: str) -> None:
    shared = [
        "<t>普通</t>",
        '<r><rPr><b/><color rgb="FFFF0000"/><charset val="134"/></rPr><t>富</t></r>'
        '<r><t xml:space="preserve">文本 </t></r>'
        "<rPh sb='0' eb='1'><t>フリガナ</t></rPh>",
        "<t>a&amp;b &lt;c&gt; &#x4E2D;&#25991;</t>",
        "<t>第一行_x000D_\r\n第二行</t>",
    ]
    cells = (
        '<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="D1" t="s"><v>3</v></c><c r="E1" t="inlineStr"><is><t>行内</t></is></c>'
        '<c r="F1" t="inlineStr"><is><r><t>多</t></r><r><rPr><i/></rPr><t>段</t></r></is></c>'
        '<c r="G1" t="inlineStr"><is><t xml:space="preserve"> 空格 &amp; </t></is></c>'
        '<c r="H1" t="inlineStr"/><c r="J1" t="inlineStr"><is><t>末</t></is></c>'
    )
    path = _hand_made(tmp_path / "s.xlsx", {"S": f'<sheetData><row r="1">{cells}</row></sheetData>'}, shared=shared)
    assert _rows(path) == [
        ["普通", "富文本 ", "a&b <c> 中文", "第一行\r\n第二行", "行内", "多段", " 空格 & ", "", "", "末"]
    ]


def test_shared_strings_past_a_thousand_and_past_the_list_limit(
    tmp_path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SharedStrings, "LIST_LIMIT", 2500)  # then blocks of 1,024 joined strings
    shared = [f"<t>第{n}条</t>" if n % 7 else f"<r><t>第{n}</t></r><r><t>条</t></r>" for n in range(3000)]
    cells = "".join(
        f'<c r="{column}1" t="s"><v>{n}</v></c>'
        for column, n in zip("ABCDEF", (0, 1023, 1024, 2500, 2999, 7), strict=True)
    )
    path = _hand_made(tmp_path / "many.xlsx", {"S": f'<sheetData><row r="1">{cells}</row></sheetData>'}, shared=shared)
    assert _rows(path) == [["第0条", "第1023条", "第1024条", "第2500条", "第2999条", "第7条"]]
    broken = _hand_made(
        tmp_path / "past.xlsx",
        {"S": '<sheetData><row r="1"><c r="A1" t="s"><v>3000</v></c></row></sheetData>'},
        shared=shared,
    )
    with pytest.raises(XlsxError, match="共享字符串"):
        _rows(broken)


def test_a_shared_string_table_the_tokenizer_does_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    parse = xlsx_stream._parsed_shared_strings

    def counted(archive: zipfile.ZipFile, member: str) -> SharedStrings:
        parsed.append(member)
        return parse(archive, member)

    monkeypatch.setattr(xlsx_stream, "_parsed_shared_strings", counted)
    shared = ["<!-- a comment --><t>甲</t>", '<t>乙</t></si><si ><t xml:space="preserve">丙</t>']  # <si > is new to it
    cells = '<c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
    path = _hand_made(tmp_path / "c.xlsx", {"S": f'<sheetData><row r="1">{cells}</row></sheetData>'}, shared=shared)
    assert _rows(path) == [["甲", "乙", "丙"]]
    assert parsed == ["xl/sharedStrings.xml"]


def test_gaps_between_cells_and_missing_and_empty_rows(tmp_path: Path, reader: str) -> None:
    data = (
        '<sheetData>\n  <row r="2" spans="1:5"><c r="B2" t="inlineStr"><is><t>b</t></is></c>'
        '<c r="E2"><v>5</v></c></row>\n  <row r="3"/>\n'
        '  <row r="5"><c r="A5" s="0"/><c r="C5"><v>3</v></c><c r="XFD5" s="1"/></row>\n'
        "  <row><c><v>1</v></c><c><v>2</v></c></row>\n</sheetData>"
    )
    path = _hand_made(tmp_path / "g.xlsx", {"S": data})
    assert _rows(path) == [[], ["", "b", "", "", 5], [], [], ["", "", 3], [1, 2]]


def test_formula_cells_give_their_cached_values(tmp_path: Path, reader: str) -> None:
    data = (
        '<sheetData><row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="str"><f>"信阳"&amp;"市"</f>'
        '<v>信阳市</v></c><c r="C1" t="b"><f>TRUE()</f><v>1</v></c><c r="D1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="E1" s="1"><f t="shared" ref="E1:E2" si="0">TODAY()</f><v>45811</v></c>'
        '<c r="F1"><f>A1*2</f></c><c r="G1"><f>A1</f><v/></c><c r="H1" t="str"><f>"a&lt;b"</f><v>a&lt;b</v></c>'
        "</row></sheetData>"
    )
    styles = '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
    path = _hand_made(tmp_path / "f.xlsx", {"S": data}, styles=styles)
    assert _rows(path) == [[2, "信阳市", True, "", date(2025, 6, 3), "", "", "a<b"]]


def test_dates_with_built_in_and_custom_formats(tmp_path: Path, reader: str) -> None:
    row = [
        datetime(2025, 6, 3),
        datetime(2025, 6, 3, 12, 30, 5),
        date(2025, 6, 3),
        time(12, 30),
        timedelta(hours=30),
        45811,
        45811,
        45811.5,
        45811,
        45811,
        45811,
        0.25,
        3_000_000,
    ]
    formats = {
        "F1": "yyyy年m月d日",
        "G1": "[$-F800]dddd, mmmm dd, yyyy",
        "H1": "yyyy/mm/dd hh:mm;@",
        "I1": '"d"0',
        "J1": "[Red]0.00",
        "K1": "#,##0",
        "L1": "h:mm AM/PM",
        "M1": "yyyy-mm-dd",
    }
    path = _openpyxl(tmp_path / "d.xlsx", [row], formats)
    assert _rows(path) == [
        [
            date(2025, 6, 3),
            datetime(2025, 6, 3, 12, 30, 5),
            date(2025, 6, 3),
            time(12, 30),
            timedelta(hours=30),
            date(2025, 6, 3),
            date(2025, 6, 3),
            datetime(2025, 6, 3, 12),
            45811,
            45811,
            45811,
            time(6),
            3_000_000,  # past 9999-12-31: the number
        ]
    ]


def test_east_asian_built_in_date_formats_and_the_1904_date_system(tmp_path: Path, reader: str) -> None:
    styles = '<cellXfs><xf numFmtId="0"/><xf numFmtId="31"/><xf numFmtId="46"/><xf numFmtId="14"/></cellXfs>'
    data = (
        '<sheetData><row r="1"><c r="A1" s="1"><v>45811</v></c><c r="B1" s="2"><v>1.5</v></c>'
        '<c r="C1" s="3"><v>59</v></c><c r="D1" s="3"><v>61</v></c><c r="E1" s="3"><v>45811.0000057870</v></c>'
        '<c r="F1" t="d"><v>2025-06-03T08:00:00</v></c></row></sheetData>'
    )
    path = _hand_made(tmp_path / "d1900.xlsx", {"S": data}, styles=styles)
    assert _rows(path) == [
        [
            date(2025, 6, 3),
            timedelta(days=1, hours=12),
            date(1900, 2, 28),
            date(1900, 3, 1),
            datetime(2025, 6, 3, 0, 0, 0, 500000),
            datetime(2025, 6, 3, 8),
        ]
    ]
    path = _hand_made(tmp_path / "d1904.xlsx", {"S": data}, styles=styles, workbook_pr='date1904="1"')
    assert _rows(path)[0][0] == date(2029, 6, 4)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("yyyy-mm-dd", DateKind.DATETIME),
        ("yyyy年m月d日", DateKind.DATETIME),
        ("DD/MM/YY", DateKind.DATETIME),
        ("H:MM:SS;@", DateKind.DATETIME),
        ('m"M"d"D";@', DateKind.DATETIME),
        ("[$-804]aaaa", None),
        ("h:mm AM/PM", DateKind.DATETIME),
        ("[h]:mm:ss", DateKind.DURATION),
        ("[mm]:ss", DateKind.DURATION),
        ("[Red][h]:mm", DateKind.DURATION),
        ("General", None),
        ("0.00", None),
        ("#,##0", None),
        ('"Y: "0.00"m";"Y: "-0.00"m"', None),
        ("\\Y000000", None),
        ("#,##0*y", None),
        ("[Red]0", None),
        ("0_);[Red](0)", None),
        ('#,##0.00 _M"H"_);[Red]#,##0.00', None),
        ("@", None),
    ],
)
def test_date_format_detection(code: str, kind: DateKind | None) -> None:
    assert date_format_kind(code) is kind


def test_merged_ranges(tmp_path: Path) -> None:
    path = _openpyxl(tmp_path / "m.xlsx", [["标题"], ["a", "b", "c"], ["x", None, None]])
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    sheet.merge_cells("A1:C1")
    sheet.merge_cells("B2:C3")
    sheet.merge_cells("E10")
    book.save(path)
    merged = open_workbook(path).sheet(0).merged_cells()
    assert sorted(merged) == [((0, 0), (0, 2)), ((1, 1), (2, 2)), ((9, 4), (9, 4))]


def test_merged_ranges_of_a_sheet_without_any(tmp_path: Path) -> None:
    path = _hand_made(tmp_path / "n.xlsx", {"S": '<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'})
    assert open_workbook(path).sheet(0).merged_cells() == []


def test_a_sheet_is_picked_by_name(tmp_path: Path) -> None:
    licence = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>许可</t></is></c></row></sheetData>'
    penalty = (
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>行政相对人名称</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>处罚类别</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>某公司</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>罚款</t></is></c></row></sheetData>'
    )
    path = _hand_made(tmp_path / "two.xlsx", {"行政许可": licence, "行政处罚": penalty})
    book = open_workbook(path)
    assert book.sheet_names == ["行政许可", "行政处罚"]
    assert book.sheet(1).name == "行政处罚"
    (row,) = read_rows(path, kind="penalty")
    assert row.number == 2 and row.values == {"行政相对人名称": "某公司", "处罚类别": "罚款"}
    with pytest.raises(XlsxError):
        book.sheet(2)


def test_a_prefixed_namespace_and_pretty_printed_xml(tmp_path: Path) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\r\n<x:worksheet xmlns:x="' + MAIN + '">\r\n  <x:sheetData>\r\n'
        '    <x:row r="1">\r\n      <x:c r="A1" t="inlineStr">\r\n        <x:is><x:t>甲</x:t></x:is>\r\n'
        '      </x:c>\r\n      <x:c r="C1">\r\n        <x:v>3</x:v>\r\n      </x:c>\r\n    </x:row>\r\n'
        '  </x:sheetData>\r\n  <x:mergeCells><x:mergeCell ref="A1:B1"/></x:mergeCells>\r\n</x:worksheet>'
    )
    path = _hand_made(tmp_path / "x.xlsx", {"S": body})
    sheet = open_workbook(path).sheet(0)
    assert list(sheet.rows()) == [["甲", "", 3]]
    assert sheet.merged_cells() == [((0, 0), (0, 1))]


def test_xml_the_tokenizer_does_not_read_hands_over_without_losing_or_repeating_rows(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 4))
    odd = '<row r="4"><!-- a comment --><c r=\'A4\'><v>4</v></c></row><row r="5"><c r="B5"><v>5</v></c></row>'
    path = _hand_made(tmp_path / "o.xlsx", {"S": f"<sheetData>{rows}{odd}</sheetData>"})
    assert _rows(path) == [[1], [2], [3], [4], ["", 5]]


def test_the_tokenizer_reads_the_usual_sheets_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def parser_not_expected(self: Sheet) -> Iterator[list[object]]:
        raise AssertionError("the pull parser was used")

    monkeypatch.setattr(Sheet, "_parsed_rows", parser_not_expected)
    path = _openpyxl(tmp_path / "u.xlsx", [["a", 1, datetime(2025, 6, 3)], [], ["b", 2.5, None, "c"]])
    assert _rows(path) == [["a", 1, date(2025, 6, 3)], [], ["b", 2.5, "", "c"]]


def test_unreadable_workbooks(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(XlsxError, match="zip"):
        open_workbook(broken)
    with zipfile.ZipFile(empty := tmp_path / "empty.xlsx", "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(XlsxError, match=r"workbook\.xml"):
        open_workbook(empty)
    no_sheets = _hand_made(tmp_path / "none.xlsx", {})
    with pytest.raises(XlsxError, match="没有工作表"):
        open_workbook(no_sheets).sheet(0)
    cut = _hand_made(tmp_path / "cut.xlsx", {"S": '<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c'})
    with pytest.raises(XlsxError, match="不是有效的XML"):
        _rows(cut)
    unclosed = _hand_made(tmp_path / "open.xlsx", {"S": '<sheetData><row r="1"><c r="A1"><v>1</v></c></sheetData>'})
    with pytest.raises(XlsxError, match="不是有效的XML"):
        _rows(unclosed)
    bad = _hand_made(tmp_path / "bad.xlsx", {"S": '<sheetData><row r="1"><c r="A1"><v>1</c></row></sheetData>'})
    with pytest.raises(XlsxError, match="不是有效的XML"):
        _rows(bad)
    with pytest.raises(TemplateError, match=r"无法读取工作簿 bad\.xlsx"):
        list(read_rows(bad))
    garbage = _hand_made(tmp_path / "garbage.xlsx", {"S": "<?xml version='1.0'?>no sheet here"})
    with pytest.raises(XlsxError, match="不是有效的XML"):
        _rows(garbage)


def test_a_dtd_is_refused(tmp_path: Path) -> None:
    laughs = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    part = (
        f'<?xml version="1.0"?>{laughs}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" '
        't="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'
    )
    path = _hand_made(tmp_path / "dtd.xlsx", {"S": part})
    with pytest.raises(XlsxError, match="DTD"):
        _rows(path)


def _big(path: Path, rows: int) -> Path:
    """A plain 10-column sheet of `rows` rows, written directly (openpyxl would take seconds)."""
    cells = '<c r="{c}{n}" t="inlineStr"><is><t>信阳市某某{n}有限公司</t></is></c>'
    lines = (
        f'<row r="{n}">' + "".join(cells.format(c=c, n=n) for c in "ABCDEFG") + f'<c r="H{n}"><v>{n}.5</v></c></row>'
        for n in range(1, rows + 1)
    )
    return _hand_made(path, {"S": "<sheetData>" + "".join(lines) + "</sheetData>"})


def test_memory_does_not_grow_with_the_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_stream, "CHUNK", 1 << 14)  # both sheets span many chunks (of 256 KiB, the small does not)
    peaks = []
    for rows in (1_000, 10_000):
        path = _big(tmp_path / f"big{rows}.xlsx", rows)
        tracemalloc.start()
        try:
            count = sum(1 for _ in read_rows(path))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert count == rows - 1
    small, large = peaks
    assert large < 1.5 * small + 1_000_000, f"peaks {small:,} and {large:,} bytes"


# --- hostile and unusual input (review of the tokenizer) --------------------------------------------------------


def _replace(path: Path, member: str, data: str | bytes) -> Path:
    """The workbook with one part written anew."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[member] = data.encode() if isinstance(data, str) else data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


def _sheet(path: Path, data: str, **parts: object) -> Path:
    return _hand_made(path, {"S": f"<sheetData>{data}</sheetData>"}, **parts)  # type: ignore[arg-type]


def test_cell_attributes_in_any_order_and_spacing(tmp_path: Path, reader: str) -> None:
    styles = '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs>'
    cells = (
        '<c r="A1" t="n" s="1"><v>45811</v></c>'  # t before s
        '<c r="B1" s="0" ph="1" t="s"><v>0</v></c>'  # another attribute between s and t
        '<c r="C1"\n   t="s"><v>1</v></c>'  # a line break between attributes
        '<c r="D1"  s="1"><v>45811</v></c>'  # two spaces
        '<c r="E1" t="s" s="1" ><v>0</v></c>'  # a space before >
        "<c r='F1' t='s'><v>1</v></c>"  # single quotes (the tokenizer hands over)
    )
    path = _sheet(tmp_path / "a.xlsx", f'<row r="1">{cells}</row>', shared=["<t>甲</t>", "<t>乙</t>"], styles=styles)
    assert _rows(path) == [[date(2025, 6, 3), "甲", "乙", date(2025, 6, 3), "甲", "乙"]]


def test_comments_cdata_and_processing_instructions_are_not_read_as_markup(tmp_path: Path, reader: str) -> None:
    data = (
        '<row r="1"><c r="A1"><v>1</v></c><!-- <c r="B1"><v>666</v></c> --><?pi <c r="C1"><v>7</v></c>?></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t><![CDATA[</t></is></c><c r="B2"><v>666</v></c>]]></t></is></c>'
        "</row>"
    )
    path = _sheet(tmp_path / "c.xlsx", data)
    assert _rows(path) == [[1], ['</t></is></c><c r="B2"><v>666</v></c>']]
    hidden = f'<!-- <worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>666</v></c></row></sheetData> -->'
    prolog = _hand_made(
        tmp_path / "p.xlsx",
        {
            "S": f'<?xml version="1.0"?>{hidden}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v>'
            "</c></row></sheetData></worksheet>"
        },
    )
    assert _rows(prolog) == [[1]]


def test_comments_and_cdata_in_the_shared_string_table(tmp_path: Path) -> None:
    path = _sheet(tmp_path / "s.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>')
    for table in (
        f'<sst xmlns="{MAIN}"><!-- <si><t>evil</t></si> --><si><t>甲</t></si><si><t>乙</t></si></sst>',
        f'<sst xmlns="{MAIN}"><si><t>甲</t></si><si><t><![CDATA[乙]]></t></si><?pi <si><t>x</t></si>?></sst>',
    ):
        _replace(path, "xl/sharedStrings.xml", table)
        assert _rows(path) == [["甲", "乙"]]


def test_rows_and_columns_past_excel_s_limits_are_refused(tmp_path: Path, reader: str) -> None:
    for n, data in enumerate(
        (
            '<row r="1048577"><c r="A1048577"><v>1</v></c></row>',
            '<row r="99999999999999999999"><c r="A1"><v>1</v></c></row>',
            '<row r="1"><c r="XFE1"><v>1</v></c></row>',
            '<row r="1"><c r="AAAAAAAAAAAAAAAAAAAA1"><v>1</v></c></row>',
            '<row r="1"><c r="A99999999"><v>1</v></c></row>',
        )
    ):
        with pytest.raises(XlsxError, match="上限"):
            _rows(_sheet(tmp_path / f"l{n}.xlsx", data))
    last = _rows(_sheet(tmp_path / "last.xlsx", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    assert len(last) == 1_048_576 and len(last[-1]) == 16_384 and last[-1][-1] == 1
    many = "<c><v>1</v></c>" * 16_385  # cells without r= past XFD
    with pytest.raises(XlsxError, match="上限"):
        _rows(_sheet(tmp_path / "many.xlsx", f'<row r="1">{many}</row>'))


def test_cell_ends_written_otherwise_or_missing_cost_linear_time(tmp_path: Path, reader: str) -> None:
    spaced = _sheet(tmp_path / "s.xlsx", '<row r="1">' + '<c r="A1"><v>1</v></c >' * 100_000 + "</row>")
    assert _rows(spaced) == [[1]]
    missing = _sheet(tmp_path / "m.xlsx", '<row r="1">' + '<c r="A1"><v>1</v>x' * 100_000 + "</row>")
    with pytest.raises(XlsxError, match="不是有效的XML"):
        _rows(missing)


def test_a_far_cell_and_many_empty_rows_read_quickly(tmp_path: Path) -> None:
    header = '<c r="A1" t="inlineStr"><is><t>行政相对人名称</t></is></c><c r="XFD1"><v>1</v></c>'
    path = _sheet(tmp_path / "w.xlsx", f'<row r="1">{header}</row><row r="1048576"/>')
    assert list(read_rows(path)) == []  # a million empty rows: not padded to 16,384 columns each


def test_row_ends_with_spaces_and_a_row_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_stream, "CHUNK", 1 << 10)
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row >' for n in range(1, 2001))
    assert _rows(_sheet(tmp_path / "r.xlsx", rows)) == [[n] for n in range(1, 2001)]
    monkeypatch.setattr(xlsx_stream, "MAX_ROW_TEXT", 100_000)
    huge = '<row r="1">' + '<c r="A1"><v>1</v></c>' * 10_000 + "</row>"
    with pytest.raises(XlsxError, match="MiB"):
        _rows(_sheet(tmp_path / "h.xlsx", huge))
    _parsed_only(monkeypatch)
    with pytest.raises(XlsxError, match="MiB"):
        _rows(_sheet(tmp_path / "h.xlsx", huge))


def test_parts_read_whole_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sheet(tmp_path / "b.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared=["<t>甲</t>" * 500])
    assert _rows(path) == [["甲" * 500]]
    monkeypatch.setattr(xlsx_stream, "MAX_SHARED_STRINGS", 1000)
    with pytest.raises(XlsxError, match=r"sharedStrings\.xml.*上限"):
        _rows(path)
    monkeypatch.setattr(xlsx_stream, "MAX_PART", 100)
    with pytest.raises(XlsxError, match="上限"):
        open_workbook(path)


def test_only_utf8_and_utf16_and_only_ascii_digits(tmp_path: Path, reader: str) -> None:
    body = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>'
    utf16 = tmp_path / "u.xlsx"
    _hand_made(utf16, {"S": "<?xml"})  # replaced below by a UTF-16 part
    _replace(utf16, "xl/worksheets/sheet1.xml", ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16"))
    assert _rows(utf16) == [[1]]
    for n, encoding in enumerate(("rot13", "hex", "base64", "punycode", "GB2312", "latin-1")):
        part = f'<?xml version="1.0" encoding="{encoding}"?>{body}'
        with pytest.raises(XlsxError, match="编码"):
            _rows(_hand_made(tmp_path / f"e{n}.xlsx", {"S": part}))
    superscript = _sheet(tmp_path / "d.xlsx", '<row r="²"><c r="A1" t="s"><v>²</v></c></row>', shared=["<t>a</t>"])
    with pytest.raises(XlsxError, match="共享字符串"):
        _rows(superscript)
    assert _rows(_sheet(tmp_path / "r.xlsx", '<row r="²"><c r="A1"><v>1</v></c></row>')) == [[1]]


def test_a_dtd_in_utf16_is_refused(tmp_path: Path, reader: str) -> None:
    laughs = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    sheet = (
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
    )
    for n, (member, part) in enumerate(
        (
            ("xl/worksheets/sheet1.xml", f'<?xml version="1.0" encoding="UTF-16"?>{laughs}{sheet}'),
            (
                "xl/sharedStrings.xml",
                f'<?xml version="1.0" encoding="UTF-16"?>{laughs}<sst xmlns="{MAIN}"><si><t>&b;</t></si></sst>',
            ),
            ("xl/styles.xml", f'<?xml version="1.0" encoding="UTF-16"?>{laughs}<styleSheet xmlns="{MAIN}"/>'),
        )
    ):
        path = _hand_made(tmp_path / f"d{n}.xlsx", {"S": sheet}, shared=["<t>甲</t>"])
        _replace(path, member, part.encode("utf-16"))
        with pytest.raises(XlsxError, match="DTD"):
            _rows(path)


def test_shared_string_indices_and_malformed_text_read_alike(tmp_path: Path, reader: str) -> None:
    shared = ["<t>a</t>", "<t>b</t>"]
    for n, index in enumerate(("-1", "2", "99999999999999999999", "1.0", "abc")):
        path = _sheet(tmp_path / f"i{n}.xlsx", f'<row r="1"><c r="A1" t="s"><v>{index}</v></c></row>', shared=shared)
        with pytest.raises(XlsxError, match=f"索引“{re.escape(index)}”"):
            _rows(path)
    assert _rows(_sheet(tmp_path / "sp.xlsx", '<row r="1"><c r="A1" t="s"><v> 1 </v></c></row>', shared=shared)) == [
        ["b"]
    ]
    surrogate = '<row r="1"><c r="A1" t="inlineStr"><is><t>a_xD800_b</t></is></c></row>'
    assert _rows(_sheet(tmp_path / "x.xlsx", surrogate)) == [["a\ufffdb"]]
    for n, text in enumerate(("a&#xD800;b", "a&#0;b", "a&b", "a&#X4E2D;b", "a&#99999999999999;b")):
        bad = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row>'
        with pytest.raises(XlsxError, match="不是有效的XML"):
            _rows(_sheet(tmp_path / f"b{n}.xlsx", bad))
    other_type = '<row r="1"><c r="A1" t="s"><is><t>x</t></is></c><c r="B1" t="inlineStr"><v>7</v></c></row>'
    assert _rows(_sheet(tmp_path / "o.xlsx", other_type, shared=shared)) == [[]]
    assert _rows(_sheet(tmp_path / "t.xlsx", '<row r="1"><c r="A1" t=""><v>5</v></c></row>')) == [[5]]


def test_a_negative_index_is_no_block_lookup() -> None:
    strings = SharedStrings()
    for n in range(SharedStrings.LIST_LIMIT + 2 * SharedStrings.BLOCK + 5):
        strings.append(str(n))
    assert strings.lookup(len(strings) - 1) == str(len(strings) - 1)
    for index in (-1, len(strings)):
        with pytest.raises(IndexError):
            strings.lookup(index)
