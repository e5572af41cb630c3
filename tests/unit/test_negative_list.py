"""The negative list (政务公开负面清单): which decisions or fields it withholds, and its configuration."""

from __future__ import annotations

from typing import Any

import pytest

from sgs.core.negative_list import (
    NOTHING_WITHHELD,
    NegativeListError,
    Withhold,
    Withholding,
    parse_negative_list,
    withholding,
)
from tests.unit.factories import make_uscc_for

HEALTH = make_uscc_for("11411500", "MB111111")  # a made-up 卫生健康委员会
ENVIRONMENT = make_uscc_for("11411500", "MB222222")
PENALTY_ID = f"penalty:{ENVIRONMENT}:信环罚〔2025〕12号"


def penalty(**changes: Any) -> dict[str, Any]:
    """A penalty's values in the archive document's JSON form (lists for multi-valued fields)."""
    values: dict[str, Any] = {
        "decision_id": PENALTY_ID,
        "subject_name": "信阳市某某化工有限公司",
        "legal_representative": "张三",
        "illegal_act_type": "超标排放污染物",
        "facts": "经查，当事人超标排放废水。",
        "penalty_categories": ["警告", "罚款"],
        "source_department_code": ENVIRONMENT,
    }
    return values | changes


def test_conditions_must_all_hold() -> None:
    entry = Withhold("测试", departments=frozenset({ENVIRONMENT}), keywords=("国家秘密",))
    assert not entry.covers("penalty", penalty())
    assert entry.covers("penalty", penalty(facts="涉及国家秘密的事项"))
    assert not entry.covers("penalty", penalty(facts="涉及国家秘密的事项", source_department_code=HEALTH))
    assert entry.covers("penalty", penalty(facts="涉及国家秘密", source_department_code=ENVIRONMENT.lower()))
    assert not entry.covers("penalty", penalty(facts="涉及国家秘密", source_department_code=None))


def test_kind_categories_keywords_and_decision_ids() -> None:
    licences = Withhold("测试", kinds=frozenset({"licence"}), categories=("特许",))
    assert not licences.covers("penalty", penalty())
    assert licences.covers("licence", {"licence_category": "特许"})
    assert not licences.covers("licence", {"licence_category": "普通"})
    other = Withhold("测试", categories=("其他",))
    assert other.covers("penalty", penalty(penalty_categories=["警告", "其他-责令停产停业"]))
    assert other.covers("penalty", penalty(penalty_categories=("其他-责令停产停业",)))  # a Decision's tuple
    assert not other.covers("penalty", penalty())
    assert not Withhold("测试", categories=("其他",)).covers("penalty", penalty(penalty_categories=["其他人"]))
    by_id = Withhold("测试", decision_ids=frozenset({PENALTY_ID}))
    assert by_id.covers("penalty", penalty()) and not by_id.covers("penalty", penalty(decision_id="penalty:x:y"))
    # Keywords are looked for in every free-text field, not in codes or enumerations.
    words = Withhold("测试", keywords=("未成年",))
    assert words.covers("penalty", penalty(subject_name="某某（未成年）"))
    assert not words.covers("penalty", penalty(penalty_categories=["未成年"]))


def test_a_whole_decision_entry_wins_and_field_entries_add_up() -> None:
    names = Withhold("不公开法定代表人", fields=frozenset({"legal_representative"}))
    facts = Withhold("不公开违法事实", departments=frozenset({ENVIRONMENT}), fields=frozenset({"facts"}))
    secret = Withhold("涉及国家秘密", keywords=("国家秘密",))
    assert withholding([], "penalty", penalty()) is NOTHING_WITHHELD
    assert withholding([names, facts], "penalty", penalty()) == Withholding(
        None, frozenset({"legal_representative", "facts"})
    )
    assert withholding([names, facts], "penalty", penalty(source_department_code=HEALTH)) == Withholding(
        None, frozenset({"legal_representative"})
    )
    assert withholding([names, secret], "penalty", penalty(facts="国家秘密")) == Withholding("涉及国家秘密")


def test_entries_read_from_yaml_data() -> None:
    entries = parse_negative_list(
        [
            {"reason": " 涉及国家秘密 ", "keywords": ["国家秘密"]},
            {"reason": "不公开", "kind": "penalty", "fields": ["法定代表人", "cf_sy", "remarks"]},
            {"reason": "个案", "decision_ids": [f"penalty:{ENVIRONMENT.lower()}:信环罚[2025]12号"]},
            {"reason": "按部门", "departments": [ENVIRONMENT.lower()], "categories": ["警告"]},
        ]
    )
    assert entries[0] == Withhold("涉及国家秘密", keywords=("国家秘密",))
    assert entries[1].fields == frozenset({"legal_representative", "facts", "remarks"})
    assert entries[1].kinds == frozenset({"penalty"})
    assert entries[2].decision_ids == frozenset({PENALTY_ID})  # canonical, whatever spelling was written
    assert entries[3].departments == frozenset({ENVIRONMENT})
    assert parse_negative_list(None) == ()


def test_categories_and_keywords_are_read_as_submitted_values_are() -> None:
    """Written as departments write them: 吊销许可证 is the standard's 吊销许可证件, 罚 款 is 罚款; keywords are
    compared without width, case and spaces."""
    (entry,) = parse_negative_list([{"reason": "x", "kind": "penalty", "categories": ["吊销许可证", "罚 款", "其他"]}])
    assert entry.categories == ("吊销许可证件", "罚款", "其他")
    assert entry.covers("penalty", penalty(penalty_categories=["吊销许可证件"]))
    (licences,) = parse_negative_list([{"reason": "x", "categories": ["特许许可"]}])
    assert licences.categories == ("特许",)
    (words,) = parse_negative_list([{"reason": "x", "keywords": ["ＡＢＣ 项目", "国家 秘密"]}])
    assert words.keywords == ("abc项目", "国家秘密")
    for text in ("涉及abc项目", "涉及ABC项目", "涉及国家　秘密", "涉及国家\n秘密"):
        assert words.covers("penalty", penalty(facts=text)), text


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"reason": "x"}, "negative_list: 应为条目的列表"),
        (["x"], "negative_list[1]: 应为一个映射"),
        ([{"keywords": ["a"]}], "negative_list[1].reason"),
        ([{"reason": "x", "keyword": ["a"]}], "未知的键 keyword"),
        ([{"reason": "x"}], "须至少给出"),  # without fields and conditions it would withhold everything
        ([{"reason": "x", "kind": "penalty"}], "须至少给出"),
        ([{"reason": "x", "kind": "permit", "keywords": ["a"]}], "kind: 应为 licence 或 penalty"),
        ([{"reason": "x", "keywords": "国家秘密"}], "keywords: 应为非空文本的列表"),
        ([{"reason": "x", "keywords": []}], "keywords: 应为非空文本的列表"),
        ([{"reason": "x", "kind": "licence", "fields": ["罚款金额（万元）"]}], "“罚款金额（万元）”不是licence的字段"),
        ([{"reason": "x", "fields": ["no_such_field"]}], "“no_such_field”不是"),
        ([{"reason": "x", "kind": "penalty", "fields": ["文号"]}], "决定标识的一部分"),
        ([{"reason": "x", "fields": ["authority_code"]}], "决定标识的一部分"),
        ([{"reason": "x", "departments": ["91411502MA3X12345"]}], "不是有效的统一社会信用代码"),
        ([{"reason": "x", "decision_ids": ["信环罚〔2025〕12号"]}], "不是决定标识"),
        # Categories are the standard's names (a name that matches nothing would withhold nothing, silently):
        ([{"reason": "x", "categories": ["罚款处罚"]}], "“罚款处罚”不是licence或penalty的类别"),
        ([{"reason": "x", "kind": "licence", "categories": ["罚款"]}], "“罚款”不是licence的类别"),
    ],
)
def test_unusable_entries_are_refused_with_where_and_why(data: object, fragment: str) -> None:
    with pytest.raises(NegativeListError) as info:
        parse_negative_list(data)
    assert fragment in str(info.value)
