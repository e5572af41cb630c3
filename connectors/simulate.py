"""Realistic simulated decisions of Xinyang (信阳市) departments, for the demo feed, tests and benchmarks.

Unified codes and ID numbers carry correct check characters; subjects recur across decisions when asked to,
as they do in real data. Everything is drawn from a seeded `random.Random`, so a seed reproduces a feed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sgs.core.codes import USCC_ALPHABET, org_check_character, ric_check_character, uscc_check_character
from sgs.core.fields import fields_of

XINYANG = {
    "411500": "信阳市",
    "411502": "浉河区",
    "411503": "平桥区",
    "411521": "罗山县",
    "411522": "光山县",
    "411523": "新县",
    "411524": "商城县",
    "411525": "固始县",
    "411526": "潢川县",
    "411527": "淮滨县",
    "411528": "息县",
}
# How the offices abbreviate themselves in 文号, e.g. 信市监罚〔2025〕12号.
OFFICE_ABBREVIATIONS = {
    "市场监督管理局": "市监",
    "生态环境局": "环",
    "应急管理局": "应急",
    "交通运输局": "交",
    "住房和城乡建设局": "建",
    "卫生健康委员会": "卫健",
}
AUTHORITIES = ["市场监督管理局", "生态环境局", "应急管理局", "交通运输局", "住房和城乡建设局", "卫生健康委员会"]
# 字号: an enterprise name is 行政区划 + 字号 + 行业 + 组织形式, and the 字号 makes it unique in its district
# (企业名称登记管理规定). Two characters from these give 900 字号 and 72,000 company names: a name query finds
# about a dozen of a million decisions, not the 10,000 each of 80 names without a 字号 found.
TRADE_NAME_FIRST = "恒鑫华金宏永昌盛德兴隆泰丰瑞嘉润通达天宇中诚锦豫淮申博正汇振"
TRADE_NAME_SECOND = "泰源宇达盛昌兴丰瑞祥和发顺利通鼎航信远阳辉川安康胜鸿茂晟佳业"
TRADES = ["商贸", "食品", "建材", "农业科技", "物流", "餐饮管理", "茶业", "建筑工程"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
ACTS = ["未按规定公示信息", "销售不合格产品", "超标排放污染物", "未落实安全生产责任", "消防设施不符合标准"]
CATEGORIES = ["警告", "罚款", "警告、罚款", "罚款、没收违法所得", "责令停产停业", "暂扣许可证件"]
LICENCE_CATEGORIES = ["普通", "登记", "认可", "核准", "特许"]
SUBJECT_FIELDS = (
    "subject_name",
    "subject_category",
    "subject_code",
    "legal_representative",
    "legal_representative_id_type",
    "legal_representative_id_number",
    "id_type",
    "id_number",
)
BODY_ALPHABET = "".join(ch for ch in USCC_ALPHABET if ch != "Y")


def uscc(prefix8: str, rng: random.Random) -> str:
    body = "".join(rng.choice(BODY_ALPHABET) for _ in range(8))
    first17 = prefix8 + body + (org_check_character(body) or "0")
    return first17 + (uscc_check_character(first17) or "0")


def resident_id(district: str, born: date, rng: random.Random) -> str:
    first17 = f"{district}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + (ric_check_character(first17) or "0")


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def trade_name(rng: random.Random) -> str:
    return rng.choice(TRADE_NAME_FIRST) + rng.choice(TRADE_NAME_SECOND)


def authorities(rng: random.Random) -> list[tuple[str, str]]:
    found = []
    for district, place in list(XINYANG.items())[:4]:
        for office in AUTHORITIES:
            found.append((f"{place}{office}", uscc("11" + district, rng)))
    return found


def subject(rng: random.Random) -> dict[str, str]:
    district, place = rng.choice(list(XINYANG.items())[1:])
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
    if rng.random() < 0.2:
        return {
            "subject_name": person(rng),
            "subject_category": "自然人",
            "id_type": "身份证",
            "id_number": resident_id(district, born, rng),
        }
    return {
        "subject_name": f"信阳{place}{trade_name(rng)}{rng.choice(TRADES)}有限公司",
        "subject_category": "法人及非法人组织",
        "subject_code": uscc("91" + district, rng),
        "legal_representative": person(rng),
        "legal_representative_id_type": "身份证",
        "legal_representative_id_number": resident_id(district, born, rng),
    }


def document_number(authority_name: str, kind_character: str, year: int, serial: int) -> str:
    office = next(o for o in OFFICE_ABBREVIATIONS if authority_name.endswith(o))
    return f"{authority_name[0]}{OFFICE_ABBREVIATIONS[office]}{kind_character}〔{year}〕{serial}号"


def licence(rng: random.Random, authority: tuple[str, str], serial: int, decided: date) -> dict[str, str]:
    name, code = authority
    return subject(rng) | {
        "document_name": "食品经营许可决定书",
        "document_number": document_number(name, "许", decided.year, serial),
        "licence_category": rng.choice(LICENCE_CATEGORIES),
        "licence_number": f"JY{rng.randrange(10**13):013d}",
        "content": "食品销售经营者（预包装食品销售）",
        "decision_date": decided.isoformat(),
        "valid_from": decided.isoformat(),
        "valid_to": (decided + timedelta(days=365 * 5)).isoformat(),
        "authority_name": name,
        "authority_code": code,
        "status": "1",
        "source_department": name,
        "source_department_code": code,
    }


def penalty(rng: random.Random, authority: tuple[str, str], serial: int, decided: date) -> dict[str, str]:
    name, code = authority
    categories = rng.choice(CATEGORIES)
    record = subject(rng) | {
        "document_number": document_number(name, "罚", decided.year, serial),
        "illegal_act_type": rng.choice(ACTS),
        "facts": f"经查，当事人于{decided.year}年在经营场所内"
        + rng.choice(ACTS)
        + "，违反了相关规定，事实清楚，证据确凿。",
        "legal_basis": "《中华人民共和国行政处罚法》第二十八条",
        "penalty_categories": categories,
        "penalty_content": f"{categories}：责令改正并处罚款",
        "decision_date": decided.isoformat(),
        "valid_to": (decided + timedelta(days=180)).isoformat(),
        "authority_name": name,
        "authority_code": code,
        "source_department": name,
        "source_department_code": code,
    }
    if "罚款" in categories:
        record["fine_amount"] = str(rng.choice(["0.2", "0.5", "1", "2.5", "10"]))
    if "没收" in categories:
        record["confiscation_amount"] = "0.35"
    if "暂扣" in categories:
        record["licence_suspended_or_revoked"] = f"食品经营许可证 JY{rng.randrange(10**13):013d}"
    return record


def decision(rng: random.Random, kind: str, authority: tuple[str, str], serial: int, decided: date) -> dict[str, str]:
    return (licence if kind == "licence" else penalty)(rng, authority, serial, decided)


def records(
    n: int, seed: int, chinese: bool, subjects: int = 0, *, first_day: date = date(2024, 1, 1), days: int = 600
) -> list[tuple[str, dict[str, str]]]:
    """n records decided over `days` days from `first_day`; `subjects` > 0 draws their subjects from a pool
    of that many (subjects recur across decisions, as they do in real data), 0 gives each its own subject."""
    rng = random.Random(seed)
    offices = authorities(rng)
    pool = [subject(rng) for _ in range(subjects)]
    zh = {kind: {f.name: f.zh for f in fields_of(kind)} for kind in ("licence", "penalty")}
    out: list[tuple[str, dict[str, str]]] = []
    for i in range(n):
        kind = "licence" if i % 2 == 0 else "penalty"
        decided = first_day + timedelta(days=rng.randrange(days))
        record = decision(rng, kind, rng.choice(offices), i, decided)
        if pool:
            for key in SUBJECT_FIELDS:
                record.pop(key, None)
            record |= rng.choice(pool)
        if chinese:
            record = {zh[kind][k]: v for k, v in record.items()}
        out.append((kind, record))
    return out


@dataclass(frozen=True)
class Step:
    """One submission of the demo feed, and what it shows."""

    department_code: str
    kind: str
    operation: str  # upsert | revoke
    record: dict[str, str] | None
    version: int
    note: str  # timely | late | invalid | corrected | duplicate | bracket-variant | revoked | other-department
    decision_id: str | None = None  # for revokes


def _working_days_before(today: date, count: int) -> date:
    day = today
    while count > 0:
        day -= timedelta(days=1)
        count -= day.weekday() < 5
    return day


def demo_feed(n: int, today: date, seed: int = 2025, first_serial: int = 1) -> list[Step]:
    """About n decisions of Xinyang departments as they would arrive: mostly timely, some late, some invalid
    and corrected later, duplicates, a 文号 in another bracket form, revocations, and one department trying to
    publish another's decision. Revokes name decision ids, which `sgs.core.docnum.decision_id` computes."""
    from sgs.core.docnum import decision_id

    rng = random.Random(seed)
    offices = authorities(rng)
    steps: list[Step] = []
    for serial in range(n):
        kind = "penalty" if rng.random() < 0.5 else "licence"
        office = rng.choice(offices)
        roll = rng.random()
        late = roll < 0.10
        decided = _working_days_before(today, rng.randrange(9, 30) if late else rng.randrange(0, 5))
        record = decision(rng, kind, office, first_serial + serial, decided)
        code = office[1]
        if late:
            steps.append(Step(code, kind, "upsert", record, 1, "late"))
        elif roll < 0.18:  # invalid first, corrected later
            broken = dict(record, subject_name="") if rng.random() < 0.5 else dict(record, decision_date="2025-02-30")
            steps.append(Step(code, kind, "upsert", broken, 1, "invalid"))
            steps.append(Step(code, kind, "upsert", record, 2, "corrected"))
        elif roll < 0.23:
            steps += [
                Step(code, kind, "upsert", record, 1, "timely"),
                Step(code, kind, "upsert", record, 1, "duplicate"),
            ]
        elif roll < 0.27:  # the same 文号 with other brackets is the same decision
            variant = dict(record, document_number=record["document_number"].replace("〔", "[").replace("〕", "]"))
            variant["remarks"] = "更正：补充备注"
            steps += [
                Step(code, kind, "upsert", record, 1, "timely"),
                Step(code, kind, "upsert", variant, 2, "bracket-variant"),
            ]
        elif roll < 0.30:
            identity = decision_id(kind, record["authority_code"], record["document_number"])  # type: ignore[arg-type]
            steps.append(Step(code, kind, "upsert", record, 1, "timely"))
            steps.append(Step(code, kind, "revoke", None, 2, "revoked", identity))
        else:
            steps.append(Step(code, kind, "upsert", record, 1, "timely"))
    other = next(o for o in offices if o != offices[0])
    foreign = decision(rng, "penalty", other, first_serial + n, _working_days_before(today, 1))
    steps.append(Step(offices[0][1], "penalty", "upsert", foreign, 1, "other-department"))
    return steps
