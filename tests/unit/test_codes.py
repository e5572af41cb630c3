"""Codes of GB 32100, GB 11714 and GB 11643: known codes, every authority, mutations, and bad input."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.codes import (
    REGISTRATION_AUTHORITIES,
    check_code,
    check_id_number,
    check_org_code,
    check_uscc,
    mask_id_number,
    normalize_code,
    org_code_of,
    resolve_subject_code,
)

# Independent reference implementations, written from STANDARD.md §2 without the module's tables.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def ref_uscc_check(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def ref_org_check(body8: str) -> str:
    values = [int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10 for ch in body8]
    check = 11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def ref_ric_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(ch) * w for ch, w in zip(first17, weights, strict=True)) % 11]


def make_uscc(authority: str, category: str, division: str, body8: str) -> str:
    first17 = authority + category + division + body8 + ref_org_check(body8)
    return first17 + ref_uscc_check(first17)


# --- real codes -------------------------------------------------------------------------------------------------

REAL_USCC = [
    "91350100M000100Y43",  # the well-known sample (letters in the body)
    "913300007125582210",
    "9144030071526726XG",
    "914403001922038216",
    "91110000710926094P",
    "12440600MB2C07549J",  # 事业单位, letters in the body
    "91330201MA282UF146",
    "91330401MA28ADM67R",
]


def test_hand_computed_check_character() -> None:
    # 91350100M000100Y4: values 9 1 3 5 0 1 0 0 21 0 0 0 1 0 0 30 4; weighted sum
    # 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640; 1640 mod 31 = 28; 31 - 28 = 3 → "3".
    assert ref_uscc_check("91350100M000100Y4") == "3"
    # Embedded org code M000100Y-4: M=22·3 + 1·5 + Y=34·2 = 139; 139 mod 11 = 7; 11 - 7 = 4 → "4".
    assert ref_org_check("M000100Y") == "4"
    assert check_uscc("91350100M000100Y43").valid


@pytest.mark.parametrize("code", REAL_USCC)
def test_real_codes_are_valid(code: str) -> None:
    assert ref_uscc_check(code[:17]) == code[17]
    assert ref_org_check(code[8:16]) == code[16]
    result = check_uscc(code)
    assert result.valid, result.reason
    assert result.kind == "uscc" and result.reason_code is None and result.reason is None
    assert check_code(code).kind == "uscc"


def test_explanation_of_a_valid_code() -> None:
    code = make_uscc("9", "1", "411502", "MA44CP2K")
    explained = dict(check_uscc(code).explanation)
    assert explained["登记管理部门"] == "9 市场监管"
    assert explained["机构类别"] == "1 企业"
    assert explained["登记管理机关行政区划码"] == "411502"
    assert explained["主体标识码(组织机构代码)"] == code[8:17]
    assert explained["校验码"] == code[17]


@pytest.mark.parametrize(
    ("authority", "category"),
    [(a, c) for a, auth in REGISTRATION_AUTHORITIES.items() for c in auth.categories],
)
def test_every_registration_authority_and_category(authority: str, category: str) -> None:
    code = make_uscc(authority, category, "411502", "3A7K9X2M")
    result = check_uscc(code)
    assert result.valid, result.reason
    assert result.explanation[0] == ("登记管理部门", f"{authority} {REGISTRATION_AUTHORITIES[authority].name}")


def test_letter_authorities_are_in_the_table() -> None:
    # Position 1 may be a letter: A, N, Y are in GB 32100's own list.
    assert {"A", "N", "Y"} <= set(REGISTRATION_AUTHORITIES)
    assert check_uscc(make_uscc("N", "2", "411521", "12345678")).valid
    assert check_uscc(make_uscc("A", "1", "100000", "MA00B1C2")).valid
    assert check_uscc(make_uscc("Y", "1", "411500", "00000000")).valid


# --- structure ---------------------------------------------------------------------------------------------------


def test_unknown_authority() -> None:
    code = "B" + make_uscc("9", "1", "411502", "12345678")[1:17]
    result = check_uscc(code + ref_uscc_check(code))
    assert result.reason_code == "uscc.registration_authority"
    assert "第1位" in (result.reason or "")


def test_category_not_allowed_for_authority() -> None:
    first17 = "94" + "411502" + "12345678" + ref_org_check("12345678")
    result = check_uscc(first17 + ref_uscc_check(first17))
    assert result.reason_code == "uscc.category"
    assert "市场监管" in (result.reason or "")


def test_division_must_be_digits() -> None:
    first17 = "91" + "41150A" + "12345678" + ref_org_check("12345678")
    result = check_uscc(first17 + ref_uscc_check(first17))
    assert result.reason_code == "uscc.division"


def test_embedded_org_code_check() -> None:
    body = "12345678"
    wrong = "0" if ref_org_check(body) != "0" else "1"
    first17 = "91411502" + body + wrong
    result = check_uscc(first17 + ref_uscc_check(first17))
    assert result.reason_code == "uscc.org_code_check"
    assert f"应为{ref_org_check(body)}" in (result.reason or "")


def test_check_character_message() -> None:
    code = make_uscc("9", "1", "411502", "MA44CP2K")
    wrong = "0" if code[17] != "0" else "1"
    result = check_uscc(code[:17] + wrong)
    assert result.reason_code == "uscc.check_character"
    assert result.reason is not None and result.reason.startswith(f"第18位校验码应为{code[17]}，实为{wrong}")


def test_check_character_comes_before_embedded_org_check() -> None:
    # Both wrong: the code's own check character is reported.
    first17 = "91411502" + "12345678" + ("0" if ref_org_check("12345678") != "0" else "1")
    bad18 = ALPHABET[(ALPHABET.index(ref_uscc_check(first17)) + 1) % 31]
    assert check_uscc(first17 + bad18).reason_code == "uscc.check_character"


# --- property: valid codes and single substitutions ----------------------------------------------------------------

AUTH_CATEGORIES = [(a, c) for a, auth in REGISTRATION_AUTHORITIES.items() for c in auth.categories]
BODY_ALPHABET = ALPHABET  # the embedded org code must also fit the unified code's alphabet


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    authority, category = draw(st.sampled_from(AUTH_CATEGORIES))
    division = draw(st.text("0123456789", min_size=6, max_size=6))
    body = draw(st.text(BODY_ALPHABET, min_size=8, max_size=8))
    return make_uscc(authority, category, division, body)


@settings(max_examples=300)
@given(valid_usccs())
def test_generated_codes_are_valid(code: str) -> None:
    result = check_uscc(code)
    assert result.valid, (code, result.reason)
    assert check_code(code).valid


@settings(max_examples=300)
@given(valid_usccs(), st.integers(0, 17), st.integers(1, 30))
def test_every_single_substitution_is_detected(code: str, position: int, shift: int) -> None:
    replacement = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    mutated = code[:position] + replacement + code[position + 1 :]
    # The weighted mod-31 sum alone catches it: every weight is non-zero mod the prime 31.
    assert ref_uscc_check(mutated[:17]) != mutated[17]
    assert not check_uscc(mutated).valid


@settings(max_examples=200)
@given(valid_usccs(), st.integers(0, 17), st.sampled_from("IOSVZ-#a ０"))
def test_substitution_by_any_character_is_detected(code: str, position: int, ch: str) -> None:
    mutated = code[:position] + ch + code[position + 1 :]
    if normalize_code(mutated) == code:
        return  # "a" upper-cased, or a space dropped, may give back the same code
    assert not check_uscc(mutated).valid


# --- normalization and bad input ----------------------------------------------------------------------------------


def test_normalization() -> None:
    assert normalize_code(" ９１３５０１００ｍ０００１００ｙ４３ ") == "91350100M000100Y43"
    assert normalize_code("9135 0100\tM000\u3000100Y43\u200b") == "91350100M000100Y43"
    assert normalize_code("") == ""
    result = check_uscc("  91350100m000100y43 ")
    assert result.valid and result.code == "91350100M000100Y43" and result.input == "  91350100m000100y43 "


@pytest.mark.parametrize("text", ["", "   ", "\u3000", "\t\n"])
def test_empty(text: str) -> None:
    for result in (check_uscc(text), check_org_code(text), check_id_number(text), check_code(text)):
        assert not result.valid
        assert result.reason_code == "code.empty"
        assert result.reason == "代码为空"


@pytest.mark.parametrize(("length", "text"), [(17, "91350100M000100Y4"), (19, "91350100M000100Y433")])
def test_wrong_length(length: int, text: str) -> None:
    for result in (check_uscc(text), check_code(text)):
        assert result.reason_code == "uscc.length"
        assert result.reason == f"统一社会信用代码应为18位，实为{length}位"


@pytest.mark.parametrize("bad", "IOSVZ")
def test_excluded_letters(bad: str) -> None:
    result = check_uscc("91350100M000100" + bad + "43")
    assert result.reason_code == "uscc.character"
    assert "第16位" in (result.reason or "") and "I、O、S、V、Z" in (result.reason or "")


def test_other_bad_characters() -> None:
    assert check_uscc("91350100M000100#43").reason_code == "uscc.character"
    assert check_uscc("91350100M000100中43").reason_code == "uscc.character"
    assert "U+0001" in (check_uscc("91350100M000100\x0143").reason or "")


@settings(max_examples=300)
@given(st.text(max_size=25))
def test_never_raises(text: str) -> None:
    for check in (check_uscc, check_org_code, check_id_number, check_code):
        result = check(text)
        assert result.valid == (result.reason_code is None) == (result.reason is None)
    mask_id_number(text)
    org_code_of(text)
    resolve_subject_code(text, {})


# --- organization codes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["71526726-X", "71526726X", "m000100y-4", "M000100Y4", " １９２２０３８２-１ "])
def test_valid_org_codes(text: str) -> None:
    result = check_org_code(text)
    assert result.valid, result.reason
    assert result.kind == "org" and len(result.code) == 9 and "-" not in result.code
    assert check_code(text).kind == "org"


def test_org_code_errors() -> None:
    assert check_org_code("71526726-1").reason == "第9位校验码应为X，实为1"
    assert check_org_code("71526726-1").reason_code == "org.check_character"
    assert check_org_code("7152672-6X").reason_code == "org.length"
    assert check_org_code("7152#726X").reason_code == "org.character"
    assert check_org_code("71526726A").reason_code == "org.character"
    assert check_org_code("12345").reason_code == "org.length"


def test_org_code_of_and_resolution() -> None:
    assert org_code_of("91350100M000100Y43") == "M000100Y4"
    assert org_code_of("9135") == ""
    known = {"M000100Y4": "91350100M000100Y43", "715267264": "x"}
    assert resolve_subject_code("M000100Y-4", known) == "91350100M000100Y43"
    assert resolve_subject_code(" 91350100m000100y43", {}) == "91350100M000100Y43"
    assert resolve_subject_code("71526726-X", known) is None  # valid but never seen
    assert resolve_subject_code("M000100Y-5", known) is None  # invalid
    assert resolve_subject_code("", known) is None


# --- resident ID numbers ------------------------------------------------------------------------------------------


def make_ric(region: str, birth: str, sequence: str) -> str:
    first17 = region + birth + sequence
    return first17 + ref_ric_check(first17)


def test_gb11643_sample() -> None:
    result = check_id_number("11010519491231002X")
    assert result.valid and result.kind == "ric"
    assert dict(result.explanation)["出生日期"] == "1949-12-31"
    assert check_id_number("11010519491231002x").valid
    assert check_code("11010519491231002x").kind == "ric"


@settings(max_examples=200)
@given(
    st.sampled_from(["411502", "110105", "810000", "830000", "650102"]),
    st.dates(date(1900, 1, 1), date(2024, 12, 31)),
    st.text("0123456789", min_size=3, max_size=3),
)
def test_generated_ids(region: str, born: date, sequence: str) -> None:
    number = make_ric(region, born.strftime("%Y%m%d"), sequence)
    assert check_id_number(number, today=date(2025, 1, 1)).valid
    assert check_code(number).kind == "ric"
    position = int(sequence) % 17
    digit = str((int(number[position]) + 1) % 10)
    assert not check_id_number(number[:position] + digit + number[position + 1 :]).valid


def test_id_errors() -> None:
    good = make_ric("411502", "19900101", "123")
    wrong = "0" if good[17] != "0" else "1"
    assert check_id_number(good[:17] + wrong).reason == f"第18位校验码应为{good[17]}，实为{wrong}"
    assert check_id_number(make_ric("411502", "19900230", "123")).reason_code == "ric.birth_date"
    assert "19900230" in (check_id_number(make_ric("411502", "19900230", "123")).reason or "")
    assert check_id_number(make_ric("411502", "18991231", "123")).reason_code == "ric.birth_date"
    future = make_ric("411502", "20300101", "123")
    assert check_id_number(future).valid  # without `today` the future is not known
    assert check_id_number(future, today=date(2025, 1, 1)).reason_code == "ric.birth_date"
    assert check_id_number(make_ric("991502", "19900101", "123")).reason_code == "ric.region"
    assert check_id_number("41150219900101123A").reason_code == "ric.character"
    assert check_id_number("4115021990010112X3").reason_code == "ric.character"
    assert check_id_number("4115021990010112").reason_code == "ric.length"


def test_legacy_15_digit_ids() -> None:
    result = check_id_number("411502900101123")
    assert result.valid and dict(result.explanation)["出生日期"] == "1990-01-01"
    assert check_id_number("411502900230123").reason_code == "ric.birth_date"
    assert check_code("411502900101123").kind == "ric"


def test_kind_rule_for_18_characters() -> None:
    # An ID-shaped number with a typo is judged as an ID, not as a unified code.
    good = make_ric("411502", "19900101", "123")
    typo = good[:17] + ("0" if good[17] != "0" else "1")
    assert check_code(typo).kind == "ric"
    assert check_code(typo).reason_code == "ric.check_character"
    # Not ID-shaped: judged as a unified code.
    assert check_code("91411502MA44CP2KXX").kind == "uscc"
    # A famous collision: valid as an ID; as a unified code its category 6 does not exist under 3.
    assert check_code("362322198709086409").kind == "ric"
    # A full collision: valid as an ID and as a unified code (4 文化, 1 外国在华文化中心). The ID wins, so
    # a person's number is never taken for a public code.
    assert check_uscc("411502199508081269").valid and check_id_number("411502199508081269").valid
    assert check_code("411502199508081269").kind == "ric"


def test_kind_rule_for_ids_with_impossible_birth_dates() -> None:
    # An ID whose birth date cannot exist is still an ID: the reason names the birth date, not a unified
    # code's check character (as a unified code these all fail only at position 18).
    for birth in ("19900230", "19900431", "19901301", "19900007", "19900100", "19900332", "18991231"):
        number = make_ric("411502", birth, "123")
        assert not check_uscc(number).valid
        result = check_code(number)
        assert (result.kind, result.reason_code) == ("ric", "ric.birth_date"), birth
        assert check_code(number[:17] + "X").kind == "ric"
    # All-digit unified codes that are not ID-shaped stay unified codes, valid or not.
    assert check_code("911100001000044477").kind == "uscc"
    assert check_code("911100001000044478").reason_code == "uscc.check_character"
    assert check_code("124115021234567882").kind == "uscc"


def test_mask() -> None:
    assert mask_id_number("411502199001011234") == "411502************"
    assert mask_id_number(" ４１１５０２１９９００１０１１２３x") == "411502************"
    assert mask_id_number("411502900101123") == "411502*********"
    assert mask_id_number("12345") == "*****"
    # Other documents keep their series letters only (a hostile tester saw E12345*** and 123456**):
    assert mask_id_number("E12345678") == "E********"
    assert mask_id_number("H1234567801") == "H**********"
    assert mask_id_number("12345678") == "********"
    assert mask_id_number("ABCDEFG") == "AB*****"
    assert mask_id_number("") == ""
