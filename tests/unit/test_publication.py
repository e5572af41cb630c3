"""Publication periods (公示期限) of penalties, and licences' status."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sgs.core.negative_list import Withhold
from sgs.core.publication import (
    DEFAULT_RULES,
    PublicationRules,
    PublicationRulesError,
    add_months,
    is_low_fine,
    licence_is_public,
    load_publication_rules,
    parse_publication_rules,
    period_months,
    publication_end,
)
from tests.unit.factories import make_uscc_for

DECIDED = date(2024, 3, 5)
HEALTH = make_uscc_for("11411500", "MB111111")  # a made-up 卫生健康委员会


def test_default_is_three_years() -> None:
    assert publication_end(DECIDED, ["罚款"], fine_amount_wan=5) == date(2027, 3, 5)
    assert publication_end(DECIDED, ["责令停产停业"]) == date(2027, 3, 5)
    assert publication_end(DECIDED, []) == date(2027, 3, 5)


def test_warning_and_criticism_only_three_months() -> None:
    assert publication_end(DECIDED, ["警告"]) == date(2024, 6, 5)
    assert publication_end(DECIDED, [" 通报批评 ", "警告"]) == date(2024, 6, 5)


def test_low_fine() -> None:
    # organization: up to ¥3,000 (0.3 万元); natural person: up to ¥200 (0.02 万元)
    assert publication_end(DECIDED, ["警告", "罚款"], fine_amount_wan=Decimal("0.3")) == date(2024, 6, 5)
    assert publication_end(DECIDED, ["罚款"], fine_amount_wan=0.31) == date(2027, 3, 5)
    assert publication_end(DECIDED, ["罚款"], fine_amount_wan=0.02, natural_person=True) == date(2024, 6, 5)
    assert publication_end(DECIDED, ["罚款"], fine_amount_wan=0.1, natural_person=True) == date(2027, 3, 5)
    assert publication_end(DECIDED, ["罚款"]) == date(2027, 3, 5)  # amount unknown: not known to be low
    assert not is_low_fine(float("nan"), natural_person=False, rules=DEFAULT_RULES)
    assert not is_low_fine(-1, natural_person=False, rules=DEFAULT_RULES)


def test_several_categories_longest_wins() -> None:
    assert publication_end(DECIDED, ["警告", "没收违法所得"]) == date(2027, 3, 5)
    assert period_months(["警告", "罚款"], fine_amount_wan=10) == 36


def test_safety_floor_one_year() -> None:
    for act in ("违反特种设备安全管理规定", "安全生产违法行为", "消防设施未保持完好有效"):
        assert publication_end(DECIDED, ["警告"], illegal_act_type=act) == date(2025, 3, 5)
    assert publication_end(DECIDED, ["罚款"], illegal_act_type="消防", fine_amount_wan=50) == date(2027, 3, 5)
    assert publication_end(DECIDED, ["警告"], illegal_act_type="无证经营") == date(2024, 6, 5)


def test_restriction_longer_than_the_period() -> None:
    long_end = date(2029, 3, 4)
    assert publication_end(DECIDED, ["限制从业"], restriction_end=long_end) == long_end
    assert publication_end(DECIDED, ["限制开展生产经营活动"], restriction_end=date(2025, 1, 1)) == date(2027, 3, 5)
    assert publication_end(DECIDED, ["罚款"], fine_amount_wan=9, restriction_end=long_end) == date(2027, 3, 5)


def test_supplied_end_wins() -> None:
    supplied = date(2024, 12, 31)
    assert publication_end(DECIDED, ["限制从业"], restriction_end=date(2030, 1, 1), supplied_end=supplied) == supplied


def test_month_arithmetic_clamps() -> None:
    assert add_months(date(2024, 2, 29), 36) == date(2027, 2, 28)
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 12, 31), 12) == date(2025, 12, 31)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert publication_end(date(2024, 11, 30), ["警告"]) == date(2025, 2, 28)


def test_configured_rules() -> None:
    rules = PublicationRules(default_months=24, category_months={"警告": 6}, floor_keywords=("食品",))
    assert publication_end(DECIDED, ["警告"], rules=rules) == date(2024, 9, 5)
    assert publication_end(DECIDED, ["通报批评"], rules=rules) == date(2026, 3, 5)
    assert publication_end(DECIDED, ["警告"], illegal_act_type="消防", rules=rules) == date(2024, 9, 5)
    assert publication_end(DECIDED, ["警告"], illegal_act_type="食品安全", rules=rules) == date(2025, 3, 5)


def test_parse_rules_yaml() -> None:
    rules = parse_publication_rules(
        """
default_months: 24
category_months: {警告: 3, 通报批评: 6}
low_fine_wan_organization: 0.5
floor_keywords: [特种设备, 危险化学品]
restriction_categories: [限制从业]
"""
    )
    assert rules.default_months == 24
    assert dict(rules.category_months) == {"警告": 3, "通报批评": 6}
    assert rules.low_fine_wan_organization == Decimal("0.5")
    assert rules.low_fine_wan_person == Decimal("0.02")  # untouched default
    assert rules.floor_keywords == ("特种设备", "危险化学品")
    assert rules.restriction_categories == frozenset({"限制从业"})
    assert parse_publication_rules("") == DEFAULT_RULES


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("default_months: [", "无法解析"),
        ("- a", "映射"),
        ("default_month: 3", "未知的键 default_month"),
        ("default_months: 0", "default_months"),
        ("default_months: true", "default_months"),
        ("floor_months: '12'", "floor_months"),
        ("low_fine_wan_person: -1", "low_fine_wan_person"),
        ("low_fine_wan_person: abc", "low_fine_wan_person"),
        ("category_months: [警告]", "category_months"),
        ("category_months: {警告: 0}", "category_months.警告"),
        ("floor_keywords: 消防", "floor_keywords"),
        ("restriction_categories: ['']", "restriction_categories"),
        ("departments: [a]", "departments: 应为"),
        ("departments: {91411502MA3X12345: {}}", "departments.91411502MA3X12345: 不是有效的统一社会信用代码"),
        (f"departments: {{{HEALTH}: 3}}", f"departments.{HEALTH}: 应为该部门公示期限的映射"),
        (f"departments: {{{HEALTH}: {{default_months: 0}}}}", f"departments.{HEALTH}.default_months"),
        (f"departments: {{{HEALTH}: {{negative_list: []}}}}", f"departments.{HEALTH}.未知的键 negative_list"),
        (f"departments: {{{HEALTH}: {{}}, {HEALTH.lower()}: {{}}}}", "重复"),
        ("negative_list: [{reason: x}]", "negative_list[1]: 不列 fields"),
        ("negative_list: []\nnegative_list: []", "键“negative_list”重复出现"),
        ("category_months: {警告: 3, 警告: 6}", "键“警告”重复出现"),
        ("category_months: {罚款处罚: 1}", "category_months: “罚款处罚”不是处罚类别"),
        ("restriction_categories: [其他]", "restriction_categories: “其他”不是处罚类别"),
        ("sole_proprietors_as_persons: 1", "sole_proprietors_as_persons: 应为 true 或 false"),
    ],
)
def test_bad_rules(text: str, fragment: str) -> None:
    with pytest.raises(PublicationRulesError) as info:
        parse_publication_rules(text)
    assert fragment in str(info.value)


def test_categories_are_the_standards_names() -> None:
    rules = parse_publication_rules("category_months: {吊销许可证: 12, 其他-责令改正: 6}")
    assert dict(rules.category_months) == {"吊销许可证件": 12, "其他-责令改正": 6}


def test_departments_have_periods_of_their_own() -> None:
    """STANDARD §5: "configurable per 处罚类别 and per department". A department's category_months add to the
    city's; its other keys replace the city's."""
    rules = parse_publication_rules(
        f"""
category_months: {{警告: 6}}
floor_keywords: [消防]
departments:
  {HEALTH.lower()}:
    category_months: {{通报批评: 12}}
    default_months: 24
"""
    )
    own = rules.for_department(HEALTH)
    assert dict(own.category_months) == {"警告": 6, "通报批评": 12}
    assert own.default_months == 24 and own.floor_keywords == ("消防",)
    assert rules.for_department(f" {HEALTH.lower()} ") is own
    assert rules.for_department(make_uscc_for("11411500", "MB222222")) is rules
    assert rules.for_department(None) is rules
    assert publication_end(DECIDED, ["通报批评"], rules=own) == date(2025, 3, 5)
    assert publication_end(DECIDED, ["通报批评"], rules=rules) == date(2027, 3, 5)


def test_rules_carry_the_negative_list_and_survive_pickling() -> None:
    """`sgs publish` hands the rules to its row-checking processes."""
    rules = parse_publication_rules(
        f"""
negative_list:
  - reason: 涉及国家秘密
    keywords: [国家秘密]
departments:
  {HEALTH}: {{category_months: {{警告: 12}}}}
"""
    )
    assert rules.negative_list == (Withhold("涉及国家秘密", keywords=("国家秘密",)),)
    assert rules.for_department(HEALTH).negative_list == rules.negative_list
    again = pickle.loads(pickle.dumps(rules))
    assert again == rules and again.for_department(HEALTH).category_months["警告"] == 12
    assert pickle.loads(pickle.dumps(DEFAULT_RULES)) == DEFAULT_RULES


def test_load_rules_file(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text("default_months: 30\n", encoding="utf-8")
    assert load_publication_rules(good).default_months == 30
    bad = tmp_path / "bad.yaml"
    bad.write_text("default_months: -3\n", encoding="utf-8")
    with pytest.raises(PublicationRulesError) as info:
        load_publication_rules(bad)
    assert str(info.value).startswith(str(bad))
    with pytest.raises(PublicationRulesError, match="无法读取"):
        load_publication_rules(tmp_path / "missing.yaml")
    assert load_publication_rules(None) is DEFAULT_RULES


@pytest.mark.parametrize(
    ("status", "public"),
    [
        ("1", True),
        ("有效", True),
        ("1 有效", True),
        ("１", True),
        (" 1-有效 ", True),
        ("2", False),
        ("无效", False),
        ("", False),
        ("0", False),
    ],
)
def test_licence_is_public(status: str, public: bool) -> None:
    assert licence_is_public(status) is public


def test_the_example_rules_file_states_the_defaults() -> None:
    """deploy/publication/rules.example.yaml is what operators copy: its periods must be the built-in ones."""
    example = Path(__file__).parents[2] / "deploy" / "publication" / "rules.example.yaml"
    rules = load_publication_rules(example)
    assert dataclasses.replace(rules, departments=DEFAULT_RULES.departments, negative_list=()) == DEFAULT_RULES
    assert rules.departments and rules.negative_list
