from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.decision import Decision, person_key, subject_key
from sgs.core.fields import fields_of
from sgs.core.publication import parse_publication_rules
from sgs.core.validate import DEFAULT_OPTIONS, ValidationOptions, validate

from .factories import (
    AUTHORITY,
    COMPANY,
    PERSON_ID,
    TODAY,
    chinese,
    licence,
    make_org,
    make_ric,
    make_uscc_for,
    natural_person,
    penalty,
)


def problems(
    kind: str, record: Mapping[str, object], *, options: ValidationOptions = DEFAULT_OPTIONS
) -> set[tuple[str, str]]:
    result = validate(kind, record, today=TODAY, options=options)
    assert not result.publishable and result.record is None
    return {(p.field, p.code) for p in result.problems}


def valid(kind: str, record: Mapping[str, object], *, options: ValidationOptions = DEFAULT_OPTIONS) -> Decision:
    result = validate(kind, record, today=TODAY, options=options)
    assert result.problems == (), result.problems
    assert result.publishable and result.record is not None
    return result.record


# --- valid records -------------------------------------------------------------------------------------------------


def test_valid_licence() -> None:
    record = valid("licence", licence())
    assert record.decision_id == f"licence:{AUTHORITY}:信市监许〔2025〕101号"
    assert record.decision_date == date(2025, 6, 3)
    assert record.deadline.date == date(2025, 6, 12) and not record.deadline.provisional
    assert record.subject_code == COMPANY
    assert record.publication_end is None
    assert record.values["valid_to"] == date(2030, 6, 2)


def test_valid_penalty_types_and_publication_end() -> None:
    record = valid("penalty", penalty())
    assert record.penalty_categories == ("警告", "罚款")
    assert record.amount("fine_amount") == Decimal("0.2")
    # 警告 + a fine of ¥2,000 (a low fine for an organization): 3 months.
    assert record.publication_end == date(2025, 9, 3)


def test_supplied_publication_end_wins() -> None:
    assert valid("penalty", penalty(publication_end="2028-06-03")).publication_end == date(2028, 6, 3)


def test_chinese_headers_codes_and_english_names_are_one_record() -> None:
    english = valid("penalty", penalty())
    assert valid("penalty", chinese("penalty", penalty())).values == english.values
    by_code = {f.code: penalty()[f.name] for f in fields_of("penalty") if f.name in penalty()}
    assert valid("penalty", by_code).values == english.values


def test_full_width_digits_and_lower_case_codes_are_accepted() -> None:
    record = valid(
        "penalty",
        penalty(
            subject_code=COMPANY.lower(),
            fine_amount="０．２",
            decision_date="２０２５年６月３日",
            authority_code=" " + AUTHORITY.lower() + " ",
        ),
    )
    assert record.subject_code == COMPANY and record.amount("fine_amount") == Decimal("0.2")


def test_document_number_brackets_make_one_decision() -> None:
    ids = {
        valid("penalty", penalty(document_number=number)).decision_id
        for number in ("信市监罚〔2025〕12号", "信市监罚[2025]12号", "信市监罚（２０２５）１２号")
    }
    assert len(ids) == 1
    assert valid("penalty", penalty(document_number="信市监罚[2025]12号")).text("document_number") == (
        "信市监罚[2025]12号"
    )


def test_licence_number_stands_in_for_a_missing_document_number() -> None:
    record = valid("licence", licence(document_number=""))
    assert record.decision_id.endswith(":JY14115020012345")


def test_natural_person() -> None:
    record = valid("penalty", natural_person())
    assert record.subject_code is None and record.natural_person
    assert subject_key(record, secret=b"k") == person_key(PERSON_ID, b"k") != person_key(PERSON_ID, b"other")
    assert subject_key(valid("penalty", penalty()), secret=b"k") == COMPANY


def test_excel_serial_dates() -> None:
    record = valid("licence", licence(decision_date=45811, valid_from=45811.0, valid_to="2099-12-31"))
    assert record.decision_date == date(2025, 6, 3)


def test_html_is_kept_as_text() -> None:
    record = valid("penalty", penalty(facts="<b>排放</b><script>alert(1)</script>"))
    assert record.text("facts") == "<b>排放</b><script>alert(1)</script>"


def test_legacy_categories_are_mapped() -> None:
    record = valid(
        "penalty",
        penalty(
            penalty_categories="罚款、暂扣或者吊销许可证、暂扣或者吊销执照",
            licence_suspended_or_revoked="食品经营许可证",
        ),
    )
    assert record.penalty_categories == ("罚款", "暂扣许可证件", "吊销许可证件")


# --- bad input: each yields a precise problem ----------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", "\u3000", None])
def test_empty_required_fields(blank: str | None) -> None:
    assert problems("penalty", penalty(subject_name=blank, decision_date=blank)) == {
        ("subject_name", "field.required"),
        ("decision_date", "field.required"),
    }


def test_missing_fields_are_required() -> None:
    assert ("facts", "field.required") in problems("penalty", penalty(facts=...))
    assert ("licence_category", "field.required") in problems("licence", licence(licence_category=...))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (COMPANY[:10] + "I" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "O" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "S" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "V" + COMPANY[11:], "uscc.character"),
        (COMPANY[:10] + "Z" + COMPANY[11:], "uscc.character"),
        (COMPANY[:17], "uscc.length"),
        (COMPANY + "0", "uscc.length"),
    ],
)
def test_bad_subject_codes(code: str, expected: str) -> None:
    assert problems("penalty", penalty(subject_code=code)) == {("subject_code", expected)}


def test_bad_authority_and_source_codes() -> None:
    wrong_check = AUTHORITY[:17] + ("0" if AUTHORITY[17] != "0" else "1")
    assert problems("licence", licence(authority_code="123", source_department_code=wrong_check)) == {
        ("authority_code", "uscc.length"),
        ("source_department_code", "uscc.check_character"),
    }


def test_id_number_with_impossible_birth_date() -> None:
    bad = "41150219850230123" + "X"
    assert problems("penalty", natural_person(id_number=bad)) == {("id_number", "ric.birth_date")}
    assert problems("penalty", penalty(legal_representative_id_number=bad)) == {
        ("legal_representative_id_number", "ric.birth_date")
    }


def test_id_number_check_character() -> None:
    bad = PERSON_ID[:17] + ("0" if PERSON_ID[17] != "0" else "1")
    assert problems("penalty", natural_person(id_number=bad)) == {("id_number", "ric.check_character")}


def test_other_id_documents_are_not_checked_as_resident_ids() -> None:
    valid("penalty", natural_person(id_type="护照号", id_number="E12345678"))


@pytest.mark.parametrize("raw", ["2024-02-30", "20240230"])
def test_impossible_dates(raw: str) -> None:
    assert problems("penalty", penalty(decision_date=raw)) == {("decision_date", "date.invalid")}


def test_future_decision_date() -> None:
    assert problems("penalty", penalty(decision_date="2025-07-01")) == {("decision_date", "date.future")}
    valid("penalty", penalty(decision_date=TODAY.isoformat()))


def test_valid_to_before_valid_from() -> None:
    assert problems("licence", licence(valid_from="2025-06-03", valid_to="2025-06-02")) == {("valid_to", "date.range")}


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-0.2", "amount.negative"),
        ("两千", "amount.not_a_number"),
        ("2000", "amount.implausible"),
        ("2000元", "amount.unit"),
    ],
)
def test_bad_amounts(amount: str, code: str) -> None:
    assert problems("penalty", penalty(fine_amount=amount)) == {("fine_amount", code)}


def test_amount_threshold_is_an_option() -> None:
    valid("penalty", penalty(fine_amount="2000"), options=ValidationOptions(implausible_amount_wan=Decimal(100000)))


@pytest.mark.parametrize(
    ("field", "raw"),
    [("subject_category", "公司"), ("penalty_categories", "警告、打板子"), ("id_type", "工作证")],
)
def test_unknown_enumeration_values(field: str, raw: str) -> None:
    record = natural_person("penalty", **{field: raw})
    assert problems("penalty", record) >= {(field, "enum.unknown")}


def test_unknown_status() -> None:
    assert problems("licence", licence(status="3")) == {("status", "enum.unknown")}


def test_natural_person_with_a_company_code() -> None:
    assert problems("penalty", natural_person(subject_code=COMPANY)) == {
        ("subject_code", "subject.code_for_natural_person")
    }
    # The company's organization code (GB 11714, positions 9–17 of its unified code) is a company code too.
    for kind in ("licence", "penalty"):
        assert problems(kind, natural_person(kind, org_code=COMPANY[8:17])) == {
            ("org_code", "subject.code_for_natural_person")
        }


def test_control_characters() -> None:
    assert problems("penalty", penalty(facts="事实\x07")) == {("facts", "text.control_characters")}


def test_a_fine_of_zero_is_no_fine_amount() -> None:
    assert problems("penalty", penalty(penalty_categories="罚款", fine_amount="0")) == {("fine_amount", "amount.zero")}
    valid("penalty", penalty(penalty_categories="警告", fine_amount="0"))


def test_invisible_characters_leave_the_record_as_it_reads() -> None:
    record = valid("penalty", penalty(subject_name="某\u200b某有限\ufeff公司", facts="第一行\n第\u200d二行"))
    assert record.values["subject_name"] == "某某有限公司" and record.values["facts"] == "第一行\n第二行"


# --- required rules and cross-field checks ---------------------------------------------------------------------------


def test_organization_needs_legal_representative_and_code() -> None:
    found = problems("penalty", penalty(legal_representative=..., legal_representative_id_number=..., subject_code=...))
    assert found == {
        ("legal_representative", "field.required"),
        ("legal_representative_id_number", "field.required"),
        ("subject_code", "field.required"),
    }


def test_natural_person_needs_id() -> None:
    assert problems("penalty", natural_person(id_type=..., id_number=...)) == {
        ("id_type", "field.required"),
        ("id_number", "field.required"),
    }


def test_individual_business_may_lack_a_code() -> None:
    valid("penalty", natural_person(subject_category="个体工商户", subject_name="浉河区李娜小吃店"))


def test_fine_requires_amount_and_categories_require_their_fields() -> None:
    assert problems("penalty", penalty(fine_amount=...)) == {("fine_amount", "field.required")}
    assert problems("penalty", penalty(penalty_categories="没收违法所得")) == {
        ("confiscation_amount", "field.required")
    }
    assert problems("penalty", penalty(penalty_categories="吊销许可证件")) == {
        ("licence_suspended_or_revoked", "field.required")
    }


def test_minor_subjects_are_never_published() -> None:
    minor = make_ric("411502", date(2010, 1, 1))
    assert problems("penalty", natural_person(id_number=minor)) == {("id_number", "subject.minor")}
    adult_at_decision = make_ric("411502", date(2007, 6, 3))
    valid("penalty", natural_person(id_number=adult_at_decision))


def test_a_minor_is_found_by_the_number_whatever_the_id_type_says() -> None:
    """A household register (户口簿) is how a minor is usually identified; its number is a resident ID."""
    minor = make_ric("411502", date(2012, 5, 1))
    for id_type in ("其他-户口簿", "其他-居民身份证", "户口簿"):
        assert ("id_number", "subject.minor") in problems("penalty", natural_person(id_type=id_type, id_number=minor))
    operator = penalty(subject_category="个体工商户", id_type="身份证", id_number=minor)
    assert ("id_number", "subject.minor") in problems("penalty", operator)
    # Templates put a 个体工商户's operator in the 法定代表人 columns too.
    represented = penalty(subject_category="个体工商户", legal_representative_id_number=minor)
    assert ("legal_representative_id_number", "subject.minor") in problems("penalty", represented)
    valid("penalty", penalty(legal_representative_id_number=minor))  # a company's representative: not the subject
    valid("penalty", natural_person(id_type="护照", id_number="E12345678"))


def test_numbers_too_long_to_be_numbers_are_refused_before_they_reach_the_index() -> None:
    """A 文号 becomes part of the decision id (at most 512 bytes in Elasticsearch); codes are keywords."""
    long_number = "信环罚〔2025〕" + "第" * 100 + "号"
    assert ("document_number", "value.too_long") in problems("penalty", penalty(document_number=long_number))
    assert ("tax_registration_no", "value.too_long") in problems("penalty", penalty(tax_registration_no="9" * 65))
    valid("penalty", penalty(document_number="信环罚〔2025〕" + "第" * 80 + "号"))


def test_a_record_larger_than_any_decision_is_refused_on_the_clerks_side() -> None:
    assert ("", "record.too_large") in problems("penalty", penalty(facts="违" * 100_001))


def test_a_decision_date_before_1990_is_a_typo() -> None:
    assert ("decision_date", "date.implausible") in problems("penalty", penalty(decision_date="1900-01-02"))


def test_org_code_must_match_the_unified_code() -> None:
    valid("penalty", penalty(org_code=COMPANY[8:17]))
    assert problems("penalty", penalty(org_code=make_org("12345678"))) == {("org_code", "subject.org_code_mismatch")}


def test_same_field_twice_with_different_values() -> None:
    record = chinese("penalty", penalty()) | {"处罚金额（万元）": "0.3"}
    assert problems("penalty", record) == {("fine_amount", "field.duplicate")}
    same = chinese("penalty", penalty()) | {"处罚金额（万元）": "0.2", "CF_NR_FK": ""}
    valid("penalty", same)


def test_unknown_fields_are_listed_and_problems_only_when_strict() -> None:
    record = penalty() | {"序号": 1, "内部备注": "x"}
    result = validate("penalty", record, today=TODAY)
    assert result.publishable and result.unknown_fields == ("序号", "内部备注")
    assert problems("penalty", record, options=ValidationOptions(strict=True)) == {
        ("序号", "field.unknown"),
        ("内部备注", "field.unknown"),
    }


def test_invalid_records_still_carry_identity_and_deadline() -> None:
    result = validate("penalty", penalty(fine_amount="-1"), today=TODAY)
    assert not result.publishable
    assert result.decision_id == f"penalty:{AUTHORITY}:信市监罚〔2025〕12号"
    assert result.deadline is not None and result.deadline.date == date(2025, 6, 12)


def test_unknown_kind_and_non_mapping() -> None:
    assert validate("permit", {}, today=TODAY).problems[0].code == "record.kind"
    assert validate("penalty", ["x"], today=TODAY).problems[0].code == "record.type"  # type: ignore[arg-type]


# --- never raises ----------------------------------------------------------------------------------------------------

_NAMES = [f.name for f in fields_of("penalty")] + [f.zh for f in fields_of("penalty")] + ["序号", "CF_NR_FK"]
_VALUES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["2024-02-30", "警告、罚款", "自然人", "身份证", COMPANY, PERSON_ID, "-1", "45356", "其他"]),
)


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(["licence", "penalty"]),
    raw=st.dictionaries(st.one_of(st.sampled_from(_NAMES), st.text(max_size=10)), _VALUES, max_size=20),
)
def test_validate_never_raises(kind: str, raw: dict[str, object]) -> None:
    result = validate(kind, raw, today=TODAY)
    assert result.publishable == (not result.problems and result.record is not None)


@settings(max_examples=200, deadline=None)
@given(overrides=st.dictionaries(st.sampled_from([f.name for f in fields_of("penalty")]), _VALUES, max_size=5))
def test_validate_never_raises_near_valid_records(overrides: dict[str, object]) -> None:
    validate("penalty", penalty(**overrides), today=TODAY)
    validate("penalty", natural_person("penalty", **overrides), today=TODAY)


def test_several_penalty_categories_may_come_as_a_json_list() -> None:
    record = valid("penalty", penalty(penalty_categories=["警告", "罚款"]))
    assert record.penalty_categories == ("警告", "罚款")
    assert ("penalty_categories", "value.type") in problems("penalty", penalty(penalty_categories=["警告", 3]))


def test_a_document_number_that_cannot_name_a_decision_in_public_is_refused() -> None:
    """The 文号 is the decision id, shown in links and held by every index: not invisible characters only, and
    not a person's ID number (a 许可编号 standing in for a missing 文号 often is one)."""
    assert ("document_number", "field.required") in problems("penalty", penalty(document_number="\u200b"))
    by_licence_number = natural_person("licence", document_number="", licence_number=PERSON_ID)
    assert ("document_number", "document_number.personal") in problems("licence", by_licence_number)
    typed_in = penalty(document_number=f"信环罚〔2025〕{PERSON_ID}号")
    assert ("document_number", "document_number.personal") in problems("penalty", typed_in)
    valid("licence", natural_person("licence", licence_number="豫食许〔2025〕123456789012号"))
    split = f"信环罚〔2025〕{PERSON_ID[:6]}-{PERSON_ID[6:14]}-{PERSON_ID[14:]}号"
    glued = f"信环罚〔2025〕2025{PERSON_ID}号"
    for personal in (split, glued, "信环罚〔2025〕13812345678号", "信环罚〔2025〕+8613812345678号"):
        assert ("document_number", "document_number.personal") in problems("penalty", penalty(document_number=personal))
    valid("penalty", penalty(document_number="信环罚〔2025〕0012号"))


def test_a_supplied_publication_end_before_the_shortest_period_is_refused() -> None:
    assert ("publication_end", "publication_end.too_early") in problems(
        "penalty", penalty(decision_date="2025-06-03", publication_end="2025-06-04")
    )
    valid("penalty", penalty(decision_date="2025-06-03", publication_end="2025-09-03"))


def test_a_supplied_publication_end_keeps_the_decisions_own_minimum_and_the_three_year_maximum() -> None:
    """A hostile tester's finds: 2098-12-31 kept a 警告 public for 73 years; three months ended a 消防 penalty's
    publication before its year."""
    late = penalty(decision_date="2025-05-20", publication_end="2098-12-31")
    assert ("publication_end", "publication_end.too_late") in problems("penalty", late)
    valid("penalty", penalty(decision_date="2025-05-20", publication_end="2028-05-20"))
    assert ("publication_end", "publication_end.too_late") in problems(
        "penalty", penalty(decision_date="2025-05-20", publication_end="2028-05-21")
    )
    fire = {"decision_date": "2025-05-20", "illegal_act_type": "违反消防法"}
    assert ("publication_end", "publication_end.too_early") in problems(
        "penalty", penalty(**fire, publication_end="2025-08-20")
    )
    valid("penalty", penalty(**fire, publication_end="2026-05-20"))  # credit repair after the year


def test_a_department_with_periods_of_its_own() -> None:
    """STANDARD §5: periods are configurable per department, by its unified code (the data source's)."""
    rules = parse_publication_rules(
        f"""
departments:
  {AUTHORITY.lower()}:
    category_months: {{警告: 12}}
    floor_keywords: [食品安全]
"""
    )
    own = ValidationOptions(publication_rules=rules)
    warning = penalty(penalty_categories="警告", fine_amount="", decision_date="2025-06-03")
    assert valid("penalty", warning, options=own).publication_end == date(2026, 6, 3)
    assert valid("penalty", warning).publication_end == date(2025, 9, 3)  # the city's 3 months
    other = make_uscc_for("11411500", "MB765432")
    elsewhere = warning | {"source_department_code": other}
    assert valid("penalty", elsewhere, options=own).publication_end == date(2025, 9, 3)
    # A supplied 公示截止期 keeps the department's own minimum too (a year for its 食品安全 penalties).
    supplied = warning | {"illegal_act_type": "违反食品安全法", "publication_end": "2025-09-03"}
    assert valid("penalty", supplied | {"publication_end": ""}, options=own).publication_end == date(2026, 6, 3)
    assert ("publication_end", "publication_end.too_early") in problems("penalty", supplied, options=own)
    valid("penalty", supplied)


def test_sole_proprietors_get_the_citizens_low_fine_limit_only_when_the_rules_say_so() -> None:
    """STANDARD does not say whether a 个体工商户 is a 公民 for the low-fine limit (¥200 against ¥3,000)."""
    fine = penalty(
        subject_category="个体工商户", penalty_categories="罚款", fine_amount="0.1", decision_date="2025-06-03"
    )
    assert valid("penalty", fine).publication_end == date(2025, 9, 3)  # ¥1,000 ≤ ¥3,000: a low fine
    as_persons = ValidationOptions(publication_rules=parse_publication_rules("sole_proprietors_as_persons: true"))
    assert valid("penalty", fine, options=as_persons).publication_end == date(2028, 6, 3)  # > ¥200: 3 years
