from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.decision import Decision
from sgs.core.fields import Kind, fields_of
from sgs.core.masking import archive_view, mask_personal_numbers, public_view
from sgs.core.validate import validate

from .factories import LEGAL_REP_ID, PERSON_ID, TODAY, licence, make_ric, natural_person, penalty

NEVER = {kind: {f.name for f in fields_of(kind) if f.publicity == "never"} for kind in ("licence", "penalty")}


def _record(kind: Kind, raw: Mapping[str, object]) -> Decision:
    result = validate(kind, raw, today=TODAY)
    assert result.record is not None, result.problems
    return result.record


def test_public_view_masks_and_drops() -> None:
    view = public_view(_record("penalty", natural_person()))
    assert view["id_number"] == PERSON_ID[:6] + "*" * 12
    view = public_view(_record("penalty", penalty()))
    assert "legal_representative_id_number" not in view
    assert LEGAL_REP_ID not in json.dumps(view, ensure_ascii=False)
    assert view["fine_amount"] == "0.2" and view["penalty_categories"] == ["警告", "罚款"]
    assert view["decision_date"] == "2025-06-03" and view["publication_end"] == "2025-09-03"


def test_archive_view_keeps_everything_and_serializes() -> None:
    view = archive_view(_record("penalty", penalty()))
    assert view["legal_representative_id_number"] == LEGAL_REP_ID
    assert view["deadline"] == "2025-06-12" and view["deadline_provisional"] is False
    json.dumps(view, ensure_ascii=False)


def test_licence_views() -> None:
    view = public_view(_record("licence", licence()))
    assert view["status"] == "1" and view["valid_to"] == "2030-06-02" and "publication_end" not in view


_births = st.dates(min_value=date(1930, 1, 1), max_value=date(2000, 12, 31))
_regions = st.sampled_from(["411502", "411503", "411521", "110101", "440305"])


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["licence", "penalty"]),
    person_born=_births,
    rep_born=_births,
    region=_regions,
    sequence=st.from_regex(r"[0-9]{3}", fullmatch=True),
    person=st.booleans(),
)
def test_no_never_public_field_and_no_unmasked_id_number(
    kind: Kind, person_born: date, rep_born: date, region: str, sequence: str, person: bool
) -> None:
    person_id = make_ric(region, person_born, sequence)
    rep_id = make_ric(region, rep_born, sequence)
    if person:
        raw = natural_person(kind, id_number=person_id)
    else:
        raw = (licence if kind == "licence" else penalty)(legal_representative_id_number=rep_id, id_number=person_id)
    view = public_view(_record(kind, raw))
    text = json.dumps(view, ensure_ascii=False)
    assert not NEVER[kind] & view.keys()
    assert person_id not in text and rep_id not in text
    assert person_id[6:] not in text
    if "id_number" in view:
        assert view["id_number"] == person_id[:6] + "*" * 12


def test_personal_numbers_typed_into_free_text_are_masked() -> None:
    """STANDARD §6: ID numbers, bank accounts and phone numbers of natural persons are never published."""
    facts = f"当事人李娜（身份证号{PERSON_ID}，电话13800138000，卡号6222021234567890123）于2025年6月3日…"
    view = public_view(_record("penalty", natural_person(facts=facts, remarks=f"证件{PERSON_ID.lower()}")))
    text = json.dumps(view, ensure_ascii=False)
    assert PERSON_ID not in text and PERSON_ID.lower() not in text
    assert "13800138000" not in text and "6222021234567890123" not in text
    assert f"身份证号{PERSON_ID[:6]}{'*' * 12}，电话138{'*' * 8}，卡号622202{'*' * 13}）于2025年6月3日" in view["facts"]
    assert mask_personal_numbers("罚款10000元，文号信环罚〔2025〕12号") == "罚款10000元，文号信环罚〔2025〕12号"
    assert mask_personal_numbers("代码91411527X9D8G9HA68") == "代码91411527X9D8G9HA68"


def test_a_resident_id_number_in_another_code_field_is_masked() -> None:
    """A 个体工商户's tax number is often its operator's ID number; a natural person has no such codes at all."""
    operator = make_ric("411502", date(1980, 2, 29))
    view = public_view(_record("penalty", penalty(subject_category="个体工商户", tax_registration_no=operator)))
    assert view["tax_registration_no"] == operator[:6] + "*" * 12
    # A company's 15-digit 工商注册号 often reads as an old (unchecked) ID number: only a person's is masked.
    company = public_view(_record("penalty", penalty(business_registration_no="411500000012345")))
    assert company["business_registration_no"] == "411500000012345"
    sole = public_view(
        _record("penalty", penalty(subject_category="个体工商户", tax_registration_no="411502850412123"))
    )
    assert sole["tax_registration_no"] == "411502" + "*" * 9
    person = public_view(_record("penalty", natural_person(business_registration_no="411500000012345")))
    assert person["business_registration_no"] == "411500" + "*" * 9


def test_personal_numbers_are_found_however_they_are_written() -> None:
    written = {
        "ID411502199001011234": "ID411502************",
        "Tel13912345678": "Tel139********",
        "+8613800138000": "+86138********",
        "电话139 1234 5678": "电话139 **** ****",
        "411502-19900101-1234": "411502-********-****",
        "4115 0219 9001 0112 34": "4115 02** **** **** **",
        "卡号6222 0212 3456 7890 123": "卡号6222 02** **** **** ***",
        "手机138.1234.5678": "手机138.****.****",
        "411502 1995 0808 1269": "411502 **** **** ****",
        "411502—19950808—1269": "411502—********—****",
        "411502\u300019950808\u30001269": "411502\u3000********\u3000****",
        "411502.1995.08.08.1269": "411502.****.**.**.****",
        "411502  19950808  1269": "411502  ********  ****",
        "411502,19850304,320X": "411502,********,****",
        "41150219950808 1269": "411502******** ****",
        "2025.1.1 411502/19950808/1269": "2025.1.1 411502/********/****",
    }
    for text, masked in written.items():
        assert mask_personal_numbers(text) == masked
        assert mask_personal_numbers(masked) == masked  # masking twice changes nothing
    plain_texts = (
        "2024年12月5日",
        "罚款1,000,000元",
        "0376-1234567",
        "信环罚〔2025〕12号",
        "第123456789号",
        "违反第12、13、14、15、16、17、18、19条",
        "2024-03-05至2024-03-06 2025.01.01",
    )
    for plain in plain_texts:
        assert mask_personal_numbers(plain) == plain


def test_a_rebuild_masks_documents_published_before_a_rule_was_added() -> None:
    from datetime import UTC, datetime

    from sgs.connectors.search_indices import IndexNames
    from sgs.connectors.search_writer import documents_for

    old = {"kind": "penalty", "facts": f"当事人身份证号{PERSON_ID}", "subject_category": "自然人"}
    state = {
        "decision_id": "penalty:x:1",
        "kind": "penalty",
        "sequence": 1,
        "status": "active",
        "public_document": json.dumps(old, ensure_ascii=False),
        "archive_document": json.dumps(old, ensure_ascii=False),
    }
    now = datetime(2025, 6, 10, tzinfo=UTC)
    public, archive = documents_for(state, IndexNames("sgs-"), indexed_at=now, remask=True)
    assert PERSON_ID not in json.dumps(public.document, ensure_ascii=False)
    assert PERSON_ID in archive.document["facts"]  # the archive keeps what the department wrote


def test_personal_numbers_in_the_other_text_of_enumerations_are_masked() -> None:
    """其他-户口簿411502… is how clerks identify minors and people without a resident ID card."""
    person = natural_person("licence", id_type=f"其他-户口簿{PERSON_ID}", subject_name="王五")
    penalised = penalty(
        penalty_categories=f"警告、其他-扣押{PERSON_ID}", legal_representative_id_type="其他-13812345678"
    )
    for kind, record in (("licence", person), ("penalty", penalised)):
        text = json.dumps(public_view(_record(kind, record)), ensure_ascii=False)  # type: ignore[arg-type]
        assert PERSON_ID not in text and "13812345678" not in text, text
    view = public_view(_record("penalty", penalised))
    assert f"其他-扣押{PERSON_ID[:6]}{'*' * 12}" in view["penalty_categories"]


@settings(max_examples=300)
@given(
    st.dates(date(1940, 1, 1), date(2007, 12, 31)),
    st.lists(
        st.sampled_from(
            [" ", "-", "—", "\u3000", ".", "/", "_", ",", "  ", " - ", "－", "．", "\u00a0", "\t", "～", "|"]
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["", "身份证号", "（", "2025.1.1 "]),
)
def test_a_resident_id_number_split_anyhow_is_masked(born: date, separators: list[str], before: str) -> None:
    number = make_ric("411502", born)
    # How IDs are split: region | birth date | rest, region | year | month-day | rest, region | year | month | day |
    # rest, the first 14 | the rest, 3 | 3 | 4 | 4 | 4 (a phone-style grouping).
    cuts = {1: [14], 2: [6, 14], 3: [6, 10, 14], 4: [6, 10, 12, 14]}[len(separators)]
    if before == "（" and len(separators) == 4:
        cuts = [3, 6, 10, 14]
    parts = [number[a:b] for a, b in zip([0, *cuts], [*cuts, 18], strict=True)]
    text = before + "".join(part + sep for part, sep in zip(parts, [*separators, ""], strict=True))
    masked = mask_personal_numbers(text)
    assert number[6:17] not in "".join(ch for ch in masked if ch.isdigit()), (text, masked)
    assert mask_personal_numbers(masked) == masked


LEAKED_BEFORE = [  # forms a hostile tester published in full, each through the gateway
    "411502－1995－0808－1269",
    "411502．19950808．1269",
    "411502／19950808／1269",
    "411502\u00a01995\u00a00808\u00a01269",
    "411502\t19950808\n1269",
    "411502    19950808    1269",
    "411502\u200919950808\u202f1269",
    "411502～19950808~1269",
    "411502−19950808:1269",
    "411502;19950808|1269",
    "411502(19950808)1269",
    "2026411502199508081269",
    "𝟒𝟏𝟏𝟓𝟎𝟐𝟏𝟗𝟗𝟓𝟎𝟖𝟎𝟖𝟏𝟐𝟔𝟗",
    "٤١١٥٠٢١٩٩٥٠٨٠٨١٢٦٩",
    "④①①⑤⓪②①⑨⑨⑤⓪⑧⓪⑧①②⑥⑨",
]


@pytest.mark.parametrize("written", LEAKED_BEFORE)
def test_an_id_number_split_or_disguised_anyhow_is_masked(written: str) -> None:
    masked = mask_personal_numbers(f"当事人身份证号{written}，")
    digits = "".join(str(unicodedata.digit(ch)) for ch in masked if unicodedata.digit(ch, None) is not None)
    assert "19950808" not in digits and "1269" not in digits[-4:], masked


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("138－1234－5678", "138－****－****"),
        ("138 123 45678", "138 *** *****"),
        ("138/1234/5678", "138/****/****"),
        ("6222/0212/3456/7890/123", "6222/02**/****/****/***"),
        ("622202 1234567890123", "622202 *************"),
        ("卡号2221/0012/3456/7890。", "卡号2221/00**/****/****。"),
        ("手机+8613812345678", "手机+86138********"),
        ("手机008613812345678", "手机008613*********"),
        # Spaced out digit by digit or two by two, and HTML spaces (a text copied out of a web page):
        ("电话1 3 8 1 2 3 4 5 6 7 8。", "电话1 3 8 * * * * * * * *。"),
        ("13 81 23 45 678", "13 8* ** ** ***"),
        ("身份证4 1 1 5 0 2 1 9 9 5 0 8 0 8 1 2 6 9，", "身份证4 1 1 5 0 2 * * * * * * * * * * * *，"),
        ("411502&nbsp;19950808&nbsp;1269", "411502&nbsp;********&nbsp;****"),
        ("411502&#160;1995&#160;0808&#160;1269", "411502&#160;****&#160;****&#160;****"),
        ("手机138&nbsp;1234&nbsp;5678", "手机138&nbsp;****&nbsp;****"),
        # Chinese numerals, one character a digit:
        ("电话一三八一二三四五六七八。", "电话一三八********。"),
        ("电话壹叁捌 壹贰叁肆 伍陆柒捌", "电话壹叁捌 **** ****"),
        ("身份证号四一一五〇二一九九五〇八〇八一二六九", "身份证号四一一五〇二************"),
        ("身份证号四一一五零二 19950808 1269", "身份证号四一一五零二 ******** ****"),
        ("电话一三八○○一二三四五六", "电话一三八********"),  # ○, the input methods' zero
        ("电话幺三八一二三四五六七八", "电话幺三八********"),  # 幺, a 1 read out
    ],
)
def test_mobiles_and_cards_split_anyhow_are_masked(written: str, masked: str) -> None:
    assert mask_personal_numbers(written) == masked


@pytest.mark.parametrize(
    "plain",
    [
        "违反第12、13、14、15、16、17、18、19条",
        "2024-03-05至2024-03-06 2025.01.01",
        "罚款1,000,000元，没收违法所得12,345.67元",
        "电话0376-6221234",
        "罚款 300 000 500 000 100 000",
        "证号：(2025)第0001号",
        # Numbers side by side that a looser reading took for one (a hostile tester's finds):
        "联系电话：0376-6221234，0376-6221235。",
        "检查时间：2024-03-05 14:30:00—2024-03-05 15:30:00，",
        "进出记录：2024-11-05 12:06:32、2024-11-05 12:18:32",
        "分别于2023-12-06、2023-06-10、2024-05-20检查",
        "有效期2023.11.05-2024.03.05、2024.03.06-2025.03.05",
        "金额130.0000-1500.0000万元",
        # Small numbers spaced alike: a counting run, a list read from its middle, HTML text around numbers.
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
        "样品 12 13 81 23 45 678 90",
        "A&amp;B 2024&nbsp;12&nbsp;03",
        # Chinese numerals in dates, amounts and article numbers: never eleven in a chain.
        "二〇二五年十二月三日，依据第一百二十五条、第一百二十六条",
        "罚款人民币壹拾贰万叁仟肆佰伍拾陆元整（¥123456.00）",
        "一一、二二、三三、四四、五五、六六",
        # Lists of years and of short numbers (a second hostile tester's finds): not a card, not an old ID.
        "当事人二〇二一、二〇二二、二〇二三、二〇二四年度均未按规定报送年度报告。",
        "二〇二二 二〇二三 二〇二四 二〇二五年度检查",
        "2022 2023 2024 2025年度",
        "发现火情应立即拨打一一九、一一〇、一二〇、一二二、一一四",
        "拨打119、110、120、122、114",
    ],
)
def test_numbers_that_are_no_ones_stay(plain: str) -> None:
    assert mask_personal_numbers(plain) == plain


@pytest.mark.parametrize("hostile", ["12 " * 34_000, "1。" * 50_000, "123 " * 25_000, "411502 " * 15_000])
def test_a_record_full_of_numbers_is_masked_in_bounded_time(hostile: str) -> None:
    import time

    started = time.process_time()
    masked = mask_personal_numbers(hostile[:100_000])
    assert time.process_time() - started < 1.0  # about 50 ms here; a group-by-group reading took 0.9 s
    assert len(masked) == len(hostile[:100_000])


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        # A third hostile tester's finds: the network's digits in brackets, four groups spaced out.
        ("电话(138)1234-5678。", "电话(138)****-****。"),
        ("电话（138）1234 5678", "电话（138）**** ****"),
        ("tel:+86(138)1234-5678", "tel:+86(138)****-****"),
        ("手机13 812 345 678", "手机13 8** *** ***"),
    ],
)
def test_mobiles_with_bracketed_networks_or_spaced_in_four_are_masked(written: str, masked: str) -> None:
    assert mask_personal_numbers(written) == masked


def test_a_natural_persons_fixed_line_numbers_are_masked_an_organizations_are_not() -> None:
    """STANDARD §6: a natural person's telephone numbers are never published; an organization's are its own."""
    text = "座机0376-6231234，电话（0376）6231234，罚款2000元，2025-03-05"
    person = public_view(_record("penalty", natural_person(remarks=text)))
    assert person["remarks"] == "座机0376-*******，电话（0376）*******，罚款2000元，2025-03-05"
    company = public_view(_record("penalty", penalty(remarks=text)))
    assert company["remarks"] == text
