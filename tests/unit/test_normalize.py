from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import pytest

from sgs.core.fields import Field, kind_table
from sgs.core.normalize import (
    LONG_TERM,
    Value,
    is_long_term,
    normalize_value,
    parse_amount,
    raw_text,
)

from .factories import AUTHORITY, COMPANY

PENALTY = kind_table("penalty").by_name
LICENCE = kind_table("licence").by_name


def value(kind_fields: Mapping[str, Field], name: str, raw: object) -> Value | None:
    result, problem = normalize_value(kind_fields[name], raw)
    assert problem is None, problem
    return result


def problem_code(kind_fields: Mapping[str, Field], name: str, raw: object) -> str:
    result, problem = normalize_value(kind_fields[name], raw)
    assert result is None and problem is not None
    assert problem.field == name and problem.message
    return problem.code


# --- blanks and raw values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "\t\n"])
@pytest.mark.parametrize("name", ["subject_name", "subject_code", "decision_date", "fine_amount", "penalty_categories"])
def test_blank_is_not_given(name: str, raw: str | None) -> None:
    assert normalize_value(PENALTY[name], raw) == (None, None)


def test_raw_text_of_spreadsheet_cells() -> None:
    assert raw_text(411502000012345.0) == "411502000012345"
    assert raw_text(12) == "12"
    assert raw_text(0.5) == "0.5"
    assert raw_text(date(2025, 1, 2)) == "2025-01-02"
    assert raw_text(True) is None and raw_text(float("nan")) is None and raw_text([1]) is None


def test_unusable_types_are_problems() -> None:
    assert problem_code(PENALTY, "subject_name", True) == "value.type"
    assert problem_code(PENALTY, "subject_name", ["a"]) == "value.type"
    assert problem_code(PENALTY, "decision_date", {"a": 1}) == "value.type"


# --- text ------------------------------------------------------------------------------------------------------


def test_text_is_trimmed_and_html_kept_verbatim() -> None:
    assert value(PENALTY, "facts", "  <script>alert(1)</script> 事实\u3000") == "<script>alert(1)</script> 事实"
    assert value(PENALTY, "facts", "第一行\n第二行\t完") == "第一行\n第二行\t完"


def test_control_characters_name_their_code_points() -> None:
    _, problem = normalize_value(PENALTY["facts"], "违法\x00事实\x1b")
    assert problem is not None and problem.code == "text.control_characters"
    assert "U+0000" in problem.message and "U+001B" in problem.message


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f"])
def test_invisible_characters_are_dropped_so_names_that_read_alike_are_one(invisible: str) -> None:
    assert value(PENALTY, "subject_name", f"{invisible}某某{invisible}有限公司{invisible}") == "某某有限公司"
    assert value(PENALTY, "fine_amount", f"1{invisible}0") == Decimal(10)
    assert normalize_value(PENALTY["subject_name"], invisible * 3) == (None, None)  # nothing visible: not given


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\u202e", "\u202a", "\u2066", "\u2069"])
def test_lone_surrogates_and_bidirectional_overrides_are_refused_by_code_point(bad: str) -> None:
    for name in ("subject_name", "facts", "subject_code", "document_number"):
        _, problem = normalize_value(PENALTY[name], f"某某{bad}公司")
        assert problem is not None and problem.code == "text.control_characters", name
        assert f"U+{ord(bad):04X}" in problem.message
        assert problem.message.encode("utf-8")  # the message itself never carries the surrogate


# --- codes ----------------------------------------------------------------------------------------------------


def test_a_code_or_id_number_stored_as_a_spreadsheet_number_has_lost_digits() -> None:
    """Excel keeps 15 significant digits: 411502199001011234 typed into a number cell is 4.11502199001011E+17."""
    for name, number in (("id_number", 4.11502199001011e17), ("subject_code", 9.14115027e17)):
        _, problem = normalize_value(PENALTY[name], number)
        assert problem is not None and problem.code == "value.spreadsheet_number"
        assert "4.11502199001011e+17" in problem.message or name == "subject_code"
    assert value(PENALTY, "id_number", 411502199001011234) == "411502199001011234"  # JSON integers are exact


def test_codes_are_normalized() -> None:
    assert value(PENALTY, "subject_code", COMPANY.lower()) == COMPANY
    fullwidth = COMPANY.translate({cp: cp + 0xFEE0 for cp in range(0x21, 0x7F)})
    assert value(PENALTY, "subject_code", f" {fullwidth[:9]} {fullwidth[9:]} ") == COMPANY


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (COMPANY[:17], "uscc.length"),
        (COMPANY + "1", "uscc.length"),
        (COMPANY[:10] + "I" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "O" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "S" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "V" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "Z" + COMPANY[11:], "uscc.character"),
        (COMPANY[:17] + ("0" if COMPANY[17] != "0" else "1"), "uscc.check_character"),
    ],
)
def test_bad_unified_codes(raw: str, code: str) -> None:
    assert problem_code(PENALTY, "authority_code", raw) == code


def test_the_17_zeros_placeholder_means_no_code() -> None:
    assert normalize_value(PENALTY["subject_code"], "00000000000000000X") == (None, None)


def test_org_code_with_hyphen() -> None:
    assert value(PENALTY, "org_code", f"{COMPANY[8:16]}-{COMPANY[16]}") == COMPANY[8:17]
    assert problem_code(PENALTY, "org_code", "12345678-0").startswith("org.")


def test_identifiers_are_compacted() -> None:
    assert value(PENALTY, "business_registration_no", " 4115 0200 0012 345 ") == "411502000012345"
    assert value(PENALTY, "tax_registration_no", 411502000012345.0) == "411502000012345"


# --- dates -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["2024-03-05", "2024/3/5", "20240305", "2024年3月5日", "２０２４－０３－０５", 45356, 45356.0, "45356"]
)
def test_date_shapes(raw: str | float) -> None:
    assert value(PENALTY, "decision_date", raw) == date(2024, 3, 5)


def test_date_objects_from_spreadsheets() -> None:
    assert value(PENALTY, "decision_date", datetime(2024, 3, 5, 0, 0)) == date(2024, 3, 5)


@pytest.mark.parametrize(("raw", "code"), [("2024-02-30", "date.invalid"), ("20240230", "date.invalid")])
def test_impossible_dates(raw: str, code: str) -> None:
    assert problem_code(PENALTY, "decision_date", raw) == code


@pytest.mark.parametrize("raw", ["明天", "2024-13", "12", 3.5, "03/05/2024"])
def test_not_dates(raw: str | float) -> None:
    assert problem_code(PENALTY, "decision_date", raw).startswith("date.")


def test_long_term() -> None:
    assert value(LICENCE, "valid_to", "2099-12-31") == LONG_TERM and is_long_term(LONG_TERM)


# --- amounts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.2", "0.2"),
        ("２．５", "2.5"),
        ("0.2万元", "0.2"),
        ("¥0.2万", "0.2"),
        (0.2, "0.2"),
        (3, "3"),
        ("0", "0"),
        ("-0", "0"),
        ("￥0.2万元", "0.2"),
        ("0.2萬元", "0.2"),
    ],
)
def test_amounts(raw: str | float, expected: str) -> None:
    assert value(PENALTY, "fine_amount", raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("-0.2", "amount.negative"),
        ("-1", "amount.negative"),
        ("两千元整", "amount.not_a_number"),
        ("二千", "amount.not_a_number"),
        ("abc", "amount.not_a_number"),
        ("1.2.3", "amount.not_a_number"),
        ("2000元", "amount.unit"),
        ("¥500", "amount.unit"),  # ¥ means 元: 500 万元 would be a fine of ¥5,000,000
        ("￥2,000", "amount.unit"),
        ("2000", "amount.implausible"),
        (100000, "amount.implausible"),
        ("0.0000001", "amount.precision"),
        (float("inf"), "amount.not_a_number"),
        (True, "amount.not_a_number"),
    ],
)
def test_bad_amounts(raw: str | float, code: str) -> None:
    assert problem_code(PENALTY, "fine_amount", raw) == code


def test_a_zero_is_shown_without_a_sign() -> None:
    assert str(value(PENALTY, "fine_amount", "-0")) == "0"


def test_yuan_amounts_suggest_the_wan_value() -> None:
    _, problem = normalize_value(PENALTY["fine_amount"], "2000")
    assert problem is not None and "0.2" in problem.message
    _, problem = normalize_value(PENALTY["fine_amount"], "2000元")
    assert problem is not None and "0.2" in problem.message


def test_the_plausibility_threshold_is_a_parameter() -> None:
    assert parse_amount(PENALTY["fine_amount"], "2000", Decimal(100000)) == (Decimal(2000), None)
    assert parse_amount(PENALTY["fine_amount"], "2,000.5", Decimal(100000)) == (Decimal("2000.5"), None)


# --- enumerations ------------------------------------------------------------------------------------------------


def test_enum_values_and_aliases() -> None:
    assert value(PENALTY, "subject_category", " 法人及其他组织 ") == "法人及非法人组织"
    assert value(LICENCE, "status", "有效") == "1"
    assert value(LICENCE, "status", 2) == "2"
    assert value(LICENCE, "licence_category", "普通许可") == "普通"
    assert value(LICENCE, "licence_category", "其他（食品小作坊登记）") == "其他-食品小作坊登记"
    assert value(PENALTY, "id_type", "居民身份证") == "身份证"
    assert value(PENALTY, "id_type", "其他-军官证") == "其他-军官证"


def test_unknown_enum_lists_allowed_values() -> None:
    _, problem = normalize_value(PENALTY["subject_category"], "公司")
    assert problem is not None and problem.code == "enum.unknown"
    assert "法人及非法人组织" in problem.message and "自然人" in problem.message
    assert problem_code(LICENCE, "status", "3") == "enum.unknown"
    assert problem_code(LICENCE, "licence_category", "其他") == "enum.other_unnamed"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("警告、罚款", ("警告", "罚款")),
        ("警告,罚款；没收违法所得", ("警告", "罚款", "没收违法所得")),
        ("罚款/警告/罚款", ("罚款", "警告")),
        ("没收违法所得、没收非法财物", ("没收违法所得", "没收非法财物")),
        ("暂扣或者吊销许可证、暂扣或者吊销执照", ("暂扣许可证件", "吊销许可证件")),
        ("罚款、暂扣或者吊销许可证/执照", ("罚款", "暂扣许可证件", "吊销许可证件")),
        ("吊销营业执照", ("吊销许可证件",)),
        ("责令停产停业", ("责令停产停业",)),
        ("责令停业", ("责令停产停业",)),
        ("其他", ("其他",)),
        ("其他-责令改正", ("其他-责令改正",)),
        ("法律、行政法规规定的其他行政处罚", ("其他",)),
    ],
)
def test_penalty_categories(raw: str, expected: tuple[str, ...]) -> None:
    assert value(PENALTY, "penalty_categories", raw) == expected


def test_unknown_penalty_category_names_the_part() -> None:
    _, problem = normalize_value(PENALTY["penalty_categories"], "警告、打板子")
    assert problem is not None and problem.code == "enum.unknown" and "打板子" in problem.message


def test_authority_code_is_checked() -> None:
    assert value(PENALTY, "authority_code", AUTHORITY) == AUTHORITY


def test_the_invisible_set_holds_every_format_character_but_the_reordering_ones() -> None:
    """text.FORMAT_RANGES is written out (computing it scans a million code points); this checks it."""
    import sys
    import unicodedata

    from sgs.core.text import FORMAT_RANGES, INVISIBLE

    listed = {code for first, last in FORMAT_RANGES for code in range(first, last + 1)}
    assert listed == {code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"}
    assert not {0x202A, 0x202E, 0x2066, 0x2069} & INVISIBLE.keys()  # refused instead (test above)
    assert value(PENALTY, "subject_name", "王\u2063五\u3164\ufe0f") == "王五"
