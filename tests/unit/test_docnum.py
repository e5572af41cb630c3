"""Document numbers (文号) and decision ids."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.docnum import decision_id, normalize_document_number

DOCUMENT_NUMBER_CHARACTERS = "信环罚号第 　0123456789０１２３〔〕[]（）()【】{}ＡaZ-\u200b﹙﹚𝟐①㈠"
BRACKETS = [
    "〔〕",
    "［］",
    "[]",
    "（）",
    "()",
    "【】",
    "〖〗",
    "﹝﹞",
    "〘〙",
    "｛｝",
    "{}",
    "﹙﹚",
    "﹛﹜",
    "〈〉",
    "<>",
    "《》",
    "「」",
]


def test_standard_examples_are_one_decision() -> None:
    forms = ["信环罚〔2024〕12号", "信环罚[2024]12号", "信环罚（２０２４）１２号"]
    assert {normalize_document_number(f) for f in forms} == {"信环罚〔2024〕12号"}


@pytest.mark.parametrize("pair", BRACKETS)
def test_every_bracket_form(pair: str) -> None:
    assert normalize_document_number(f"信环罚{pair[0]}2024{pair[1]}12号") == "信环罚〔2024〕12号"


def test_whitespace_and_fullwidth() -> None:
    assert normalize_document_number(" 信环罚 〔 2024 〕\u3000１２ 号\u200b ") == "信环罚〔2024〕12号"
    assert normalize_document_number("ＸＫ－２０２４－００１") == "XK-2024-001"


def test_compatibility_forms_are_one_decision() -> None:
    assert normalize_document_number("信环罚〔𝟐𝟎𝟐𝟔〕𝟏𝟐号") == "信环罚〔2026〕12号"  # mathematical digits
    assert normalize_document_number("信环罚﹙2026﹚12号") == "信环罚〔2026〕12号"  # small parentheses
    assert normalize_document_number("信环罚《٢٠٢٦》١٢号") == "信环罚〔2026〕12号"  # Arabic-Indic digits


@pytest.mark.parametrize("invisible", ["\u2063", "\u061c", "\u180e", "\ufe0f", "\u034f", "\u3164", "\U000e0041"])
def test_invisible_characters_anywhere_make_no_second_decision(invisible: str) -> None:
    assert normalize_document_number(f"信{invisible}环罚〔20{invisible}24〕12号{invisible}") == "信环罚〔2024〕12号"


def test_brackets_not_around_a_year_are_kept() -> None:
    assert normalize_document_number("豫(信)环罚[2024]12号") == "豫(信)环罚〔2024〕12号"
    assert normalize_document_number("信环罚[24]12号") == "信环罚[24]12号"
    assert normalize_document_number("【简】2024-12") == "【简】2024-12"


def test_empty() -> None:
    assert normalize_document_number("") == ""
    assert normalize_document_number("   ") == ""


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(DOCUMENT_NUMBER_CHARACTERS), max_size=30))
def test_idempotent(text: str) -> None:
    once = normalize_document_number(text)
    assert normalize_document_number(once) == once
    assert not any(ch.isspace() for ch in once)


@settings(max_examples=200)
@given(
    st.text(alphabet="信环罚豫市监", min_size=1, max_size=6),
    st.integers(1990, 2099),
    st.integers(1, 9999),
    st.sampled_from(BRACKETS),
    st.sampled_from(BRACKETS),
)
def test_bracket_variants_collapse(prefix: str, year: int, number: int, a: str, b: str) -> None:
    assert normalize_document_number(f"{prefix}{a[0]}{year}{a[1]}{number}号") == normalize_document_number(
        f"{prefix}{b[0]}{year}{b[1]}{number}号"
    )


def test_decision_id() -> None:
    assert (
        decision_id("penalty", " 11411502ma44cp2kxx ", "信环罚[2024]12号")
        == "penalty:11411502MA44CP2KXX:信环罚〔2024〕12号"
    )
    assert decision_id("licence", "X", "a:b").split(":", 2) == ["licence", "X", "a:b"]
    assert decision_id("penalty", "A", "信环罚（2024）12号") == decision_id("penalty", "ａ", "信环罚〔2024〕12号")
    assert decision_id("penalty", "A", "1") != decision_id("licence", "A", "1")


def test_canonical_decision_id_accepts_any_spelling_of_one_decision_and_nothing_else() -> None:
    from sgs.core.docnum import canonical_decision_id

    canonical = "penalty:11411500005000018R:信市监罚〔2026〕1号"
    for spelling in (
        canonical,
        "penalty:11411500005000018r:信市监罚[2026]1号",
        "penalty: 11411500005000018R :信市监罚（２０２６）１号",
    ):
        assert canonical_decision_id(spelling) == canonical
    nothing = (
        "penalty::",
        "licence:xyz:abc",
        "fine:11411500005000018R:1号",
        "penalty:11411500005000018R: ",
        None,
        5,
        "penalty:11411500005000018R:\x00abc",  # no upsert could carry these 文号: a revoke must not block them
        "penalty:11411500005000018R:\u202e12",
        "penalty:11411500005000018R:" + "号" * 101,
    )
    for not_an_id in nothing:
        assert canonical_decision_id(not_an_id) is None
