"""Shared test data: codes with correct check characters, and valid Xinyang records to vary."""

from __future__ import annotations

from datetime import date

from sgs.core.codes import org_check_character, ric_check_character, uscc_check_character
from sgs.core.fields import Kind, fields_of

TODAY = date(2025, 6, 30)


def make_org(body8: str) -> str:
    """An organization code: 8 characters + GB 11714 check character."""
    check = org_check_character(body8)
    assert check is not None, body8
    return body8 + check


def make_uscc(prefix17: str) -> str:
    """A unified social credit code: 17 characters + GB 32100 check character."""
    check = uscc_check_character(prefix17)
    assert check is not None, prefix17
    return prefix17 + check


def make_uscc_for(prefix8: str, body8: str) -> str:
    """A unified code whose positions 9–17 are a valid organization code (as real codes are)."""
    return make_uscc(prefix8 + make_org(body8))


def make_ric(region: str, born: date, sequence: str = "123") -> str:
    """A resident ID number (GB 11643) with a correct check character."""
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    check = ric_check_character(first17)
    assert check is not None, first17
    return first17 + check


COMPANY = make_uscc_for("91411502", "MA3X1234")  # a company registered in 浉河区
AUTHORITY = make_uscc_for("11411500", "00500001")  # a 信阳市 authority (机关)
DISTRICT_AUTHORITY = make_uscc_for("11411502", "00500002")
PERSON_ID = make_ric("411502", date(1985, 4, 12))
LEGAL_REP_ID = make_ric("411503", date(1970, 1, 1), "456")


def licence(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "subject_name": "信阳市浉河区某某食品有限公司",
        "subject_category": "法人及非法人组织",
        "subject_code": COMPANY,
        "legal_representative": "张伟",
        "legal_representative_id_type": "身份证",
        "legal_representative_id_number": LEGAL_REP_ID,
        "document_name": "食品经营许可决定书",
        "document_number": "信市监许〔2025〕101号",
        "licence_category": "普通",
        "licence_certificate_name": "食品经营许可证",
        "licence_number": "JY14115020012345",
        "content": "食品销售经营者（预包装食品销售）",
        "decision_date": "2025-06-03",
        "valid_from": "2025-06-03",
        "valid_to": "2030-06-02",
        "authority_name": "信阳市市场监督管理局",
        "authority_code": AUTHORITY,
        "status": "1",
        "source_department": "信阳市市场监督管理局",
        "source_department_code": AUTHORITY,
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not ...}


def penalty(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "subject_name": "信阳市浉河区某某食品有限公司",
        "subject_category": "法人及非法人组织",
        "subject_code": COMPANY,
        "legal_representative": "张伟",
        "legal_representative_id_type": "身份证",
        "legal_representative_id_number": LEGAL_REP_ID,
        "document_number": "信市监罚〔2025〕12号",
        "illegal_act_type": "销售不合格产品",
        "facts": "经查，当事人销售的预包装食品标签不符合规定。",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十五条",
        "penalty_categories": "警告、罚款",
        "penalty_content": "警告，并处罚款2000元",
        "fine_amount": "0.2",
        "decision_date": "2025-06-03",
        "valid_to": "2025-12-03",
        "authority_name": "信阳市市场监督管理局",
        "authority_code": AUTHORITY,
        "source_department": "信阳市市场监督管理局",
        "source_department_code": AUTHORITY,
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not ...}


def natural_person(kind: Kind = "penalty", **overrides: object) -> dict[str, object]:
    """A record about a natural person (no unified code, no legal representative)."""
    base = penalty() if kind == "penalty" else licence()
    for key in (
        "subject_code",
        "legal_representative",
        "legal_representative_id_type",
        "legal_representative_id_number",
    ):
        base.pop(key)
    base |= {"subject_name": "李娜", "subject_category": "自然人", "id_type": "身份证", "id_number": PERSON_ID}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def chinese(kind: Kind, record: dict[str, object]) -> dict[str, object]:
    """The same record under the standard's Chinese headers."""
    zh = {f.name: f.zh for f in fields_of(kind)}
    return {zh[k]: v for k, v in record.items()}
