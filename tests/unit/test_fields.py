from __future__ import annotations

import json

import pytest

from sgs.core.fields import (
    KINDS,
    FieldTableError,
    Kind,
    field_table,
    fields_of,
    header_key,
    parse_field_table,
    resolve_header,
)
from sgs.schemas.contracts import schema_text

# STANDARD.md §1, in the standard's order.
LICENCE_CODES = [
    "XK_XDR_MC", "XK_XDR_LB", "XK_XDR_SHXYM", "XK_XDR_GSZC", "XK_XDR_ZZJG", "XK_XDR_SWDJ", "XK_XDR_SYDW",
    "XK_XDR_SHZZ", "XK_FRDB", "XK_FR_ZJLX", "XK_FR_ZJHM", "XK_XDR_ZJLX", "XK_XDR_ZJHM", "XK_XKWS", "XK_WSH",
    "XK_XKLB", "XK_XKZS", "XK_XKBH", "XK_NR", "XK_JDRQ", "XK_YXQZ", "XK_YXQZI", "XK_XKJG", "XK_XKJGDM", "XK_ZT",
    "XK_LYDW", "XK_LYDWDM", "BZ",
]  # fmt: skip
PENALTY_CODES = [
    "CF_XDR_MC", "CF_XDR_LB", "CF_XDR_SHXYM", "CF_XDR_GSZC", "CF_XDR_ZZJG", "CF_XDR_SWDJ", "CF_XDR_SYDW",
    "CF_XDR_SHZZ", "CF_FRDB", "CF_FR_ZJLX", "CF_FR_ZJHM", "CF_XDR_ZJLX", "CF_XDR_ZJHM", "CF_WSH", "CF_WFXW",
    "CF_SY", "CF_YJ", "CF_CFLB", "CF_NR", "CF_NR_FK", "CF_NR_WFFF", "CF_NR_ZKDX", "CF_JDRQ", "CF_YXQ", "CF_GSJZQ",
    "CF_CFJG", "CF_CFJGDM", "CF_SJLY", "CF_SJLYDM", "BZ",
]  # fmt: skip
CODES = {"licence": LICENCE_CODES, "penalty": PENALTY_CODES}


@pytest.mark.parametrize("kind", KINDS)
def test_every_national_code_is_in_the_table_in_order(kind: Kind) -> None:
    assert [f.code for f in fields_of(kind)] == CODES[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_every_national_code_is_an_alias_in_the_generated_schema(kind: Kind) -> None:
    schema = json.loads(schema_text(kind))
    aliases = {alias: f["name"] for f in schema["fields"] for alias in f["aliases"]}
    for field in fields_of(kind):
        assert aliases[field.code] == field.name
        assert any(f["doc"].startswith(field.zh) for f in schema["fields"] if f["name"] == field.name)


@pytest.mark.parametrize("kind", KINDS)
def test_every_spelling_resolves_to_its_field(kind: Kind) -> None:
    for field in fields_of(kind):
        for spelling in (field.name, field.code, field.code.lower(), field.zh, *field.aliases):
            assert resolve_header(kind, spelling) is field, spelling


@pytest.mark.parametrize(
    "header",
    [
        "罚款金额（万元）",
        "处罚金额（万元）",
        "罚款金额(万元)",
        "罚款金额 （万元） ",
        "罚款金额\u3000(万元)\u3000",
        "*罚款金额（万元）",
        "罚款金额（万元）（必填）",
        "\ufeff罚款金额【万元】",
        "cf_nr_fk",
        "Fine_Amount",
    ],
)
def test_header_variants_resolve(header: str) -> None:
    field = resolve_header("penalty", header)
    assert field is not None and field.name == "fine_amount"


def test_subject_code_header_variants() -> None:
    for header in ("行政相对人代码_1(统一社会信用代码)", "行政相对人代码_1（统一社会信用代码）", "统一社会信用代码"):
        field = resolve_header("licence", header)
        assert field is not None and field.name == "subject_code"


def test_kind_specific_names_do_not_cross() -> None:
    assert resolve_header("licence", "CF_NR_FK") is None
    assert resolve_header("penalty", "XK_XKLB") is None
    assert resolve_header("licence", "备注") is not None and resolve_header("penalty", "BZ") is not None


def test_unknown_and_odd_names() -> None:
    assert resolve_header("penalty", "序号") is None
    assert resolve_header("penalty", "") is None
    assert resolve_header("penalty", 3) is None


def test_header_key_removes_whitespace_and_unifies_brackets() -> None:
    assert header_key(" 罚款金额 ( 万元 )\u3000") == header_key("罚款金额（万元）")


def test_field_types_and_publicity() -> None:
    penalty = {f.name: f for f in fields_of("penalty")}
    assert penalty["legal_representative_id_number"].publicity == "never"
    assert penalty["id_number"].publicity == "masked"
    assert penalty["fine_amount"].type == "amount_wan"
    assert penalty["penalty_categories"].type == "enum_multi"
    condition = penalty["fine_amount"].required_when
    assert condition is not None and condition.field == "penalty_categories" and "罚款" in condition.any_of
    assert {f.name for f in fields_of("licence")} - {f.name for f in fields_of("penalty")} == {
        "document_name", "licence_category", "licence_certificate_name", "licence_number", "content",
        "valid_from", "status",
    }  # fmt: skip


def test_enumerations() -> None:
    enums = field_table().enums
    assert len(enums["penalty_category"].values) == 13  # plus 其他
    assert enums["status"].lookup["有效"] == ("1",)
    assert enums["penalty_category"].lookup["暂扣或者吊销许可证、暂扣或者吊销执照"] == ("暂扣许可证件", "吊销许可证件")
    assert "外国人永久居留身份证" in enums["id_type"].values


def test_inconsistent_tables_are_refused() -> None:
    text = """
enums: {}
kinds:
  licence: {zh: x, fields: [{name: a, code: A, zh: 甲, type: text, publicity: public},
                            {name: b, code: B, zh: 甲, type: text, publicity: public}]}
  penalty: {zh: y, fields: []}
"""
    with pytest.raises(FieldTableError):
        parse_field_table(text)
    with pytest.raises(FieldTableError):
        parse_field_table(text.replace("type: text, publicity: public}]", "type: money, publicity: public}]"))
