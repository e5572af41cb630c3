"""How long a decision stays published (公示期限): the end date of a penalty's publication, and licences.

The periods are configuration (`PublicationRules`, loadable from YAML) with the current NDRC/SAMR defaults:

- 3 years from the decision date by default (the maximum);
- 3 months when the decision is only 警告 / 通报批评 and/or a low fine;
- at least 1 year for 特种设备, 安全生产 and 消防 penalties — recognized by keywords in 违法行为类型, the one
  field that names the kind of offence whatever department decided it;
- several categories in one decision: the longest period;
- 限制开展生产经营活动 / 限制从业 ending later than that: the restriction's own end date;
- a 公示截止期 the department supplied wins over all of these.

A department may have periods of its own (`departments`, keyed by its unified code: the decision's
数据来源单位统一社会信用代码). The rules also carry the negative list (`sgs.core.negative_list`): the file that
says how long a decision is public says what of it is.

"Low fine" is the amount the Administrative Penalty Law (2021, art. 51) allows to be imposed on the spot:
up to ¥200 for a citizen and ¥3,000 for a legal person or other organization (0.02 and 0.3 万元).
"""

from __future__ import annotations

import calendar
import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from sgs.core.codes import normalize_code, uscc_reason
from sgs.core.negative_list import OTHER, NegativeListError, Withhold, category_value, parse_negative_list
from sgs.core.text import to_halfwidth

FINE = "罚款"


def _default_category_months() -> Mapping[str, int]:
    return MappingProxyType({"警告": 3, "通报批评": 3})


def _no_departments() -> Mapping[str, PublicationRules]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PublicationRules:
    default_months: int = 36
    # Categories with a period of their own; every other category gets `default_months`.
    category_months: Mapping[str, int] = field(default_factory=_default_category_months)
    low_fine_months: int = 3
    low_fine_wan_person: Decimal = Decimal("0.02")
    low_fine_wan_organization: Decimal = Decimal("0.3")
    # Whether a 个体工商户 gets the citizen's low-fine limit: the 民法典 (art. 54) places them with natural persons,
    # the standard does not say; off, they get the organization's.
    sole_proprietors_as_persons: bool = False
    floor_keywords: tuple[str, ...] = ("特种设备", "安全生产", "消防")
    floor_months: int = 12
    restriction_categories: frozenset[str] = frozenset({"限制开展生产经营活动", "限制从业"})
    # Departments' own periods (unified code → their complete rules), and what the public never sees.
    departments: Mapping[str, PublicationRules] = field(default_factory=_no_departments)
    negative_list: tuple[Withhold, ...] = ()

    def for_department(self, code: object) -> PublicationRules:
        """The periods for decisions reported by the department with unified code `code`."""
        if not self.departments or not isinstance(code, str):
            return self
        return self.departments.get(normalize_code(code), self)

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mappings do not pickle; `sgs publish` hands the rules to its row-checking processes.
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["category_months"] = dict(self.category_months)
        values["departments"] = dict(self.departments)
        return _rebuilt, (values,)

    @property
    def shortest_months(self) -> int:
        """The shortest period any penalty gets: a supplied 公示截止期 before it ends publication too early."""
        return min(self.low_fine_months, self.default_months, *self.category_months.values())


def _rebuilt(values: dict[str, Any]) -> PublicationRules:
    values["category_months"] = MappingProxyType(values["category_months"])
    values["departments"] = MappingProxyType(values["departments"])
    return PublicationRules(**values)


DEFAULT_RULES = PublicationRules()


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the end of a shorter month (2024-11-30 + 3 → 2025-02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _amount(value: Decimal | float | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def is_low_fine(fine_amount_wan: Decimal | float | None, *, natural_person: bool, rules: PublicationRules) -> bool:
    amount = _amount(fine_amount_wan)
    if amount is None or amount < 0:
        return False  # an unknown amount is not known to be low
    return amount <= (rules.low_fine_wan_person if natural_person else rules.low_fine_wan_organization)


def period_months(
    categories: Iterable[str],
    *,
    illegal_act_type: str = "",
    fine_amount_wan: Decimal | float | None = None,
    natural_person: bool = False,
    rules: PublicationRules = DEFAULT_RULES,
) -> int:
    """The publication period in months for a penalty's categories (the longest of them)."""
    months: list[int] = []
    for raw in categories:
        category = raw.strip()
        if not category:
            continue
        if category in rules.category_months:
            months.append(rules.category_months[category])
        elif category == FINE and is_low_fine(fine_amount_wan, natural_person=natural_person, rules=rules):
            months.append(rules.low_fine_months)
        else:
            months.append(rules.default_months)
    period = max(months, default=rules.default_months)
    if any(keyword in illegal_act_type for keyword in rules.floor_keywords):
        period = max(period, rules.floor_months)
    return period


def publication_end(
    decision_date: date,
    categories: Iterable[str],
    *,
    illegal_act_type: str = "",
    fine_amount_wan: Decimal | float | None = None,
    restriction_end: date | None = None,
    supplied_end: date | None = None,
    natural_person: bool = False,
    rules: PublicationRules = DEFAULT_RULES,
) -> date:
    """公示截止期 of a penalty: the department's own when supplied, else decision date + period (see module)."""
    if supplied_end is not None:
        return supplied_end
    names = [c.strip() for c in categories]
    end = add_months(
        decision_date,
        period_months(
            names,
            illegal_act_type=illegal_act_type,
            fine_amount_wan=fine_amount_wan,
            natural_person=natural_person,
            rules=rules,
        ),
    )
    if restriction_end is not None and rules.restriction_categories.intersection(names):
        end = max(end, restriction_end)
    return end


def supplied_end_bounds(
    decision_date: date,
    categories: Iterable[str],
    *,
    illegal_act_type: str = "",
    restriction_end: date | None = None,
    rules: PublicationRules = DEFAULT_RULES,
) -> tuple[date, date]:
    """The earliest and latest 公示截止期 a department may supply for a penalty: not before its minimum period
    (credit repair ends publication early, after it: 3 months, 1 year for 特种设备/安全生产/消防), not after the
    longest period (3 years) or, for a restriction, the restriction's own end."""
    names = [c.strip() for c in categories]
    floor = any(keyword in illegal_act_type for keyword in rules.floor_keywords)
    earliest = add_months(decision_date, max(rules.shortest_months, rules.floor_months if floor else 0))
    longest = max(rules.default_months, rules.floor_months, *rules.category_months.values())
    latest = add_months(decision_date, longest)
    if restriction_end is not None and rules.restriction_categories.intersection(names):
        latest = max(latest, restriction_end)
    return earliest, latest


_LICENCE_VALID = frozenset({"1", "有效", "1有效", "1-有效", "1:有效", "1.有效"})


def licence_is_public(status: str) -> bool:
    """Licences are published while 当前状态 is 1 (有效); 2 (无效) and anything unknown are not."""
    return "".join(to_halfwidth(status).split()) in _LICENCE_VALID


# --- configuration files ------------------------------------------------------------------------------------------


class PublicationRulesError(ValueError):
    """A publication-rules file that cannot be used; the message names the file and the problem."""

    def __init__(self, problem: str, path: Path | None = None) -> None:
        self.problem = problem
        self.path = path
        super().__init__(f"{path}: {problem}" if path is not None else problem)


_MONTH_KEYS = ("default_months", "low_fine_months", "floor_months")
_AMOUNT_KEYS = ("low_fine_wan_person", "low_fine_wan_organization")


def _months(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1200:
        raise PublicationRulesError(f"{where}: 应为1–1200之间的整数月数，实为“{value}”")
    return value


def _category(text: object, where: str) -> str:
    """A 处罚类别 as the standard names it (the names submitted values are normalized to)."""
    name = category_value("penalty", str(text))
    if name is None or name == OTHER:
        raise PublicationRulesError(f"{where}: “{text}”不是处罚类别（警告、通报批评、罚款……或 其他-<名称>）")
    return name


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PublicationRulesError(f"{where}: 应为非空文本的列表")
    return tuple(v.strip() for v in value)


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping: the second would silently replace the
    first (a second `negative_list:` would drop every entry of the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"键“{key}”重复出现（后者会覆盖前者）", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_publication_rules(text: str) -> PublicationRules:
    """Rules from YAML whose keys are `PublicationRules`' fields; absent keys keep their defaults. `departments`
    maps a unified code to the periods that differ for that department (its `category_months` add to or change
    the city's; other keys replace them)."""
    try:
        data: Any = yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 - a SafeLoader that refuses repeated keys
    except yaml.YAMLError as exc:
        raise PublicationRulesError(f"无法解析YAML：{exc}") from exc
    if data is None:
        return DEFAULT_RULES
    if not isinstance(data, dict):
        raise PublicationRulesError("文件内容应为一个映射")
    _refuse_unknown(data, _PERIOD_KEYS | {"departments", "negative_list"}, "")
    try:
        negative_list = parse_negative_list(data.get("negative_list"))
    except NegativeListError as exc:
        raise PublicationRulesError(str(exc)) from exc
    city = PublicationRules(**_periods(data, ""), negative_list=negative_list)
    raw = data.get("departments") or {}
    if not isinstance(raw, dict):
        raise PublicationRulesError("departments: 应为 统一社会信用代码: 公示期限 的映射")
    departments: dict[str, PublicationRules] = {}
    for text_code, own in raw.items():
        where = f"departments.{text_code}"
        code = normalize_code(str(text_code))
        reason = uscc_reason(code)
        if reason is not None:
            raise PublicationRulesError(f"{where}: 不是有效的统一社会信用代码（{reason[1]}）")
        if code in departments:
            raise PublicationRulesError(f"{where}: 与前面的部门代码重复")
        if not isinstance(own, dict):
            raise PublicationRulesError(f"{where}: 应为该部门公示期限的映射")
        _refuse_unknown(own, _PERIOD_KEYS, f"{where}.")
        values = _periods(own, f"{where}.")
        if "category_months" in values:
            values["category_months"] = MappingProxyType({**city.category_months, **values["category_months"]})
        departments[code] = dataclasses.replace(city, **values)
    return dataclasses.replace(city, departments=MappingProxyType(departments)) if departments else city


_PERIOD_KEYS = frozenset(
    {
        *_MONTH_KEYS,
        *_AMOUNT_KEYS,
        "category_months",
        "floor_keywords",
        "restriction_categories",
        "sole_proprietors_as_persons",
    }
)


def _refuse_unknown(data: Mapping[Any, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(map(str, set(data) - known))
    if unknown:
        raise PublicationRulesError(f"{where}未知的键 {', '.join(unknown)}（可用：{', '.join(sorted(known))}）")


def _periods(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The period keys given in `data`, checked; `where` prefixes the key in messages."""
    values: dict[str, Any] = {}
    for key in _MONTH_KEYS:
        if key in data:
            values[key] = _months(data[key], where + key)
    for key in _AMOUNT_KEYS:
        if key in data:
            amount = (
                _amount(data[key]) if isinstance(data[key], int | float) and not isinstance(data[key], bool) else None
            )
            if amount is None or amount < 0:
                raise PublicationRulesError(f"{where}{key}: 应为不小于0的金额（万元），实为“{data[key]}”")
            values[key] = amount
    if "category_months" in data:
        raw = data["category_months"]
        if not isinstance(raw, dict):
            raise PublicationRulesError(f"{where}category_months: 应为 处罚类别: 月数 的映射")
        values["category_months"] = MappingProxyType(
            {_category(k, f"{where}category_months"): _months(v, f"{where}category_months.{k}") for k, v in raw.items()}
        )
    if "sole_proprietors_as_persons" in data:
        if not isinstance(data["sole_proprietors_as_persons"], bool):
            raise PublicationRulesError(f"{where}sole_proprietors_as_persons: 应为 true 或 false")
        values["sole_proprietors_as_persons"] = data["sole_proprietors_as_persons"]
    if "floor_keywords" in data:
        values["floor_keywords"] = _strings(data["floor_keywords"], where + "floor_keywords")
    if "restriction_categories" in data:
        key = where + "restriction_categories"
        values["restriction_categories"] = frozenset(
            _category(name, key) for name in _strings(data["restriction_categories"], key)
        )
    return values


def load_publication_rules(path: Path | None) -> PublicationRules:
    """Read rules from a YAML file (shell), or the defaults without one; raises `PublicationRulesError` naming
    the file."""
    if path is None:
        return DEFAULT_RULES
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PublicationRulesError(f"无法读取：{exc}", path) from exc
    try:
        return parse_publication_rules(text)
    except PublicationRulesError as exc:
        raise PublicationRulesError(exc.problem, path) from exc
