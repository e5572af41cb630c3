"""Validate one submitted record against the national standard: map its names, normalize its values, check
the required and cross-field rules, and compute its decision id, deadline and (penalties) 公示截止期.

Pure: `today` and the working calendar are parameters. Never raises on bad input: every defect is a `Problem`
(field's English name, stable dotted code, Chinese message). A record is publishable when it has none.

Unknown input names (columns the table does not know, e.g. 序号) are listed in `unknown_fields` and are not
problems by default — templates carry extra columns; with `strict=True` each one is a `field.unknown` problem.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from sgs.core.calendar import WorkingCalendar, default_calendar
from sgs.core.codes import Reason, id_number_reason, normalize_code
from sgs.core.deadline import Deadline, deadline
from sgs.core.decision import NATURAL_PERSON, SOLE_PROPRIETOR, Decision
from sgs.core.docnum import MAX_DOCUMENT_NUMBER, decision_id, normalize_document_number
from sgs.core.fields import KINDS, Field, Kind, KindTable, kind_table, resolve_header
from sgs.core.normalize import (
    DEFAULT_IMPLAUSIBLE_WAN,
    MEMO,
    MEMOIZED,
    NORMALIZERS,
    PLAIN_TEXT,
    Value,
    normalize_identifier,
    normalize_memoized,
    normalize_text,
    parse_amount,
)
from sgs.core.personal_numbers import personal_numbers
from sgs.core.problems import Problem
from sgs.core.publication import DEFAULT_RULES, PublicationRules, publication_end, supplied_end_bounds

RESIDENT_ID = "身份证"
ADULT_AGE = 18
# Platform limits the standard leaves open: a 文号's is docnum's. Codes and certificate numbers are under 30
# characters; past 64 one is not a number but a mistake,
# and a keyword longer than Lucene's term limit would make Elasticsearch refuse the whole document.
# (Unified and organization codes need no limit: their own checks refuse any other length.)
MAX_CHARACTERS: Final = {"document_number": MAX_DOCUMENT_NUMBER, "identifier": 64, "id_number": 64}
# A record's free text together; anything larger is not a decision but a pasted file. (The other fields are
# codes, dates, amounts and enumerations, short by their own checks.)
MAX_RECORD_CHARACTERS: Final = 100_000
# Before the national credit platform (2014) no 双公示 record exists; an earlier date is a typo (1900 is a
# spreadsheet's empty date) that would count thousands of working days late.
EARLIEST_DECISION: Final = date(1990, 1, 1)
_NAMES_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    strict: bool = False  # unknown input names are problems (field.unknown)
    implausible_amount_wan: Decimal = DEFAULT_IMPLAUSIBLE_WAN  # amounts at or above: amount.implausible
    publication_rules: PublicationRules = DEFAULT_RULES


DEFAULT_OPTIONS: Final = ValidationOptions()


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of validating one record.

    `record` is set only when there are no problems. `values`, `decision_id`, `decision_date` and `deadline`
    are filled as far as the input allows even when there are problems: a rejected submission still proves the
    decision exists, and the deadline tracker keeps its clock running.
    """

    kind: Kind | None
    record: Decision | None
    problems: tuple[Problem, ...]
    unknown_fields: tuple[str, ...]
    values: Mapping[str, Value]
    decision_id: str | None
    decision_date: date | None
    deadline: Deadline | None

    @property
    def publishable(self) -> bool:
        return self.record is not None and not self.problems


# How validate normalizes a value of each field, decided once per input name (see _Route) instead of by
# string comparisons of the field's type for every value.
_TEXT, _MEMOIZED, _AMOUNT, _IDENTIFIER, _OTHER = range(5)
_Route = tuple[Field, int]  # the field an input name resolves to, and how its values are normalized


def _route(field: Field) -> _Route:
    if field.type in PLAIN_TEXT:
        return field, _TEXT
    if field.type in MEMOIZED:
        return field, _MEMOIZED
    if field.type == "amount_wan":
        return field, _AMOUNT
    if NORMALIZERS[field.type] is normalize_identifier:
        return field, _IDENTIFIER
    return field, _OTHER


@dataclass(frozen=True, slots=True)
class _Plan:
    """Per-kind rules precomputed from the field table, so a record's check is plain loops and dict reads."""

    table: KindTable
    always: frozenset[str]
    conditional: tuple[Field, ...]
    conditional_names: frozenset[str]
    fallbacks: tuple[Field, ...]
    id_numbers: tuple[Field, ...]
    limited: tuple[tuple[str, int, Field], ...]  # name, limit and field of each field with a length limit
    names: dict[str, _Route]  # input name -> its route, filled as names are met (a memo of resolve_header)
    order: Mapping[str, int]  # field name -> position in the standard, to report problems in that order


@functools.cache
def _plan(kind: Kind) -> _Plan:
    table = kind_table(kind)
    return _Plan(
        table=table,
        always=frozenset(f.name for f in table.fields if f.required),
        conditional=tuple(f for f in table.fields if f.required_when is not None),
        conditional_names=frozenset(f.name for f in table.fields if f.required_when is not None),
        fallbacks=tuple(f for f in table.fields if f.fallback is not None),
        id_numbers=tuple(f for f in table.fields if f.type == "id_number"),
        limited=tuple((f.name, MAX_CHARACTERS[f.type], f) for f in table.fields if f.type in MAX_CHARACTERS),
        names={},
        order={f.name: i for i, f in enumerate(table.fields)},
    )


def _condition_holds(field: Field, values: Mapping[str, Value]) -> bool:
    condition = field.required_when
    if condition is None:
        return False
    value = values.get(condition.field)
    if isinstance(value, tuple):
        return not condition.any_of.isdisjoint(value)
    return value in condition.any_of


def _required_message(field: Field, table: KindTable) -> str:
    condition = field.required_when
    if condition is None:
        return f"{field.zh}为必填项"
    other = table.by_name[condition.field]
    verb = "包含" if other.type == "enum_multi" else "为"
    return f"{other.zh}{verb}{'或'.join(sorted(condition.any_of))}时，{field.zh}为必填项"


def _birth_date(number: str) -> date | None:
    digits = number[6:14] if len(number) == 18 else "19" + number[6:12]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _looks_like_resident_id(number: str) -> bool:
    return (len(number) == 18 and number[:17].isdigit()) or (len(number) == 15 and number.isdigit())


@functools.lru_cache(maxsize=1 << 16)
def _resident_id_reason(number: str, today: date) -> Reason | None:
    # A subject's (or legal representative's) number recurs in each of its decisions.
    return id_number_reason(normalize_code(number), today=today)


def _check_id_numbers(
    plan: _Plan, values: dict[str, Value], bad: set[str], problems: list[Problem], today: date
) -> None:
    """ID numbers are checked by their 证件类型: resident IDs (GB 11643) fully; other documents have no check
    the platform can verify. A number without a type is checked as a resident ID when it is shaped like one."""
    for field in plan.id_numbers:
        number = values.get(field.name)
        if not isinstance(number, str):
            continue
        id_type = values.get(field.id_type_field) if field.id_type_field else None
        if id_type is None and field.id_type_field in bad:
            continue
        if id_type != RESIDENT_ID and not (id_type is None and _looks_like_resident_id(number)):
            continue
        reason = _resident_id_reason(number, today)
        if reason is not None:
            del values[field.name]
            bad.add(field.name)
            problems.append(Problem(field.name, reason[0], f"{field.zh}：{reason[1]}"))


def _check_subject(values: dict[str, Value], problems: list[Problem], today: date) -> None:
    category = values.get("subject_category")
    subject_code = values.get("subject_code")
    if category == NATURAL_PERSON and subject_code is not None:
        problems.append(
            Problem(
                "subject_code",
                "subject.code_for_natural_person",
                "行政相对人类别为自然人，却填写了统一社会信用代码：自然人没有统一社会信用代码，"
                "请核对相对人类别（企业、个体工商户）或删除该代码",
            )
        )
    org_code = values.get("org_code")
    if category == NATURAL_PERSON and org_code is not None:
        problems.append(
            Problem(
                "org_code",
                "subject.code_for_natural_person",
                "行政相对人类别为自然人，却填写了组织机构代码：组织机构代码属于单位，自然人没有，"
                "请核对相对人类别（企业、个体工商户）或删除该代码",
            )
        )
    if isinstance(subject_code, str) and isinstance(org_code, str) and subject_code[8:17] != org_code:
        problems.append(
            Problem(
                "org_code",
                "subject.org_code_mismatch",
                f"组织机构代码{org_code}与统一社会信用代码第9–17位{subject_code[8:17]}不一致",
            )
        )
    # Whatever the 证件类型 says (其他-户口簿 is how minors are usually identified), a number shaped like a
    # resident ID that passed its check names a birth date; a 个体工商户's number is its operator's, and so is
    # its 法定代表人's (templates put the operator there too).
    if category not in (NATURAL_PERSON, SOLE_PROPRIETOR):
        return
    numbers = [("id_number", "id_type")]
    if category == SOLE_PROPRIETOR:
        numbers.append(("legal_representative_id_number", "legal_representative_id_type"))
    decided = values.get("decision_date")
    on = decided if isinstance(decided, date) else today
    for number_field, type_field in numbers:
        number = values.get(number_field)
        if not isinstance(number, str) or not (
            values.get(type_field) == RESIDENT_ID or _looks_like_resident_id(number)
        ):
            continue
        born = _birth_date(number)
        if born is not None and _age(born, on) < ADULT_AGE:
            problems.append(
                Problem(
                    number_field,
                    "subject.minor",
                    f"行政相对人作出决定时未满{ADULT_AGE}周岁（证件号码显示出生于{born.year}年），涉及未成年人的决定不予公示",
                )
            )
            return


def _zh(table: KindTable, name: str) -> str:
    field = table.by_name.get(name)
    return field.zh if field is not None else name


def _identity_problem(table: KindTable, number: str) -> Problem | None:
    """Why the (normalized) 文号 cannot name a decision in public: it is the decision id, shown in every link
    and held by every index, so it can be neither empty (invisible characters only) nor hold a person's ID or
    mobile number, however split — an ID number is what a 许可编号 standing in for a missing 文号 often is for a
    natural person's licence."""
    normalized = normalize_document_number(number)
    if len(normalized) < 11:  # most: too short to hold an ID or mobile number
        if normalized:
            return None
        zh = _zh(table, "document_number")
        return Problem("document_number", "field.required", f"{zh}为必填项（所填内容只有不可见字符）")
    kinds = set()
    for found in personal_numbers(normalized):
        kinds.add(found.kind)
        run = normalized[found.start : found.end]
        if found.kind == "digits" and any(id_number_reason(run[i : i + 18]) is None for i in range(len(run) - 17)):
            kinds.add("id")  # an ID number glued to a year or a serial (2025411502…)
    if kinds & {"id", "mobile"}:
        zh = _zh(table, "document_number")
        what = "公民身份号码" if "id" in kinds else "手机号码"
        return Problem(
            "document_number",
            "document_number.personal",
            f"{zh}含有{what}，不能作为公开的决定标识：请填写决定书文号（许可编号为身份证号时不能代替文号）",
        )
    return None


def _check_lengths(
    plan: _Plan, values: dict[str, Value], bad: set[str], problems: list[Problem], text_size: int
) -> None:
    get = values.get
    for name, limit, field in plan.limited:
        value = get(name)
        if type(value) is str and len(value) > limit:
            del values[name]
            bad.add(name)
            problems.append(Problem(field.name, "value.too_long", f"{field.zh}长{len(value)}个字符，超过{limit}个"))
    if text_size > MAX_RECORD_CHARACTERS:
        message = f"决定的文字内容共{text_size}个字符，超过{MAX_RECORD_CHARACTERS}个"
        problems.append(Problem("", "record.too_large", message))


def _check_dates(
    table: KindTable, values: dict[str, Value], problems: list[Problem], today: date, rules: PublicationRules
) -> None:
    decided = values.get("decision_date")
    supplied_end = values.get("publication_end")
    if isinstance(decided, date) and isinstance(supplied_end, date):
        categories, act, restriction = (values.get(n) for n in ("penalty_categories", "illegal_act_type", "valid_to"))
        earliest, latest = supplied_end_bounds(
            decided,
            categories if isinstance(categories, tuple) else (),
            illegal_act_type=act if isinstance(act, str) else "",
            restriction_end=restriction if isinstance(restriction, date) else None,
            rules=rules,
        )
        zh = _zh(table, "publication_end")
        if decided <= supplied_end < earliest:
            problems.append(
                Problem(
                    "publication_end",
                    "publication_end.too_early",
                    f"{zh}{supplied_end.isoformat()}早于{earliest.isoformat()}：未满该处罚信息的最短公示期"
                    "（信用修复也须在最短公示期满后）",
                )
            )
        elif supplied_end > latest:
            problems.append(
                Problem(
                    "publication_end",
                    "publication_end.too_late",
                    f"{zh}{supplied_end.isoformat()}晚于{latest.isoformat()}：超过处罚信息的最长公示期"
                    "（限制开展生产经营活动、限制从业可至其期限届满）",
                )
            )
    if isinstance(decided, date) and decided < EARLIEST_DECISION:
        problems.append(
            Problem(
                "decision_date",
                "date.implausible",
                f"{_zh(table, 'decision_date')}{decided.isoformat()}早于{EARLIEST_DECISION.year}年，请核对",
            )
        )
    if isinstance(decided, date) and decided > today:
        problems.append(
            Problem(
                "decision_date",
                "date.future",
                f"{_zh(table, 'decision_date')}{decided.isoformat()}晚于今天（{today.isoformat()}）",
            )
        )
    for start_name, end_name in (("valid_from", "valid_to"), ("decision_date", "publication_end")):
        start, end = values.get(start_name), values.get(end_name)
        if isinstance(start, date) and isinstance(end, date) and end < start:
            problems.append(
                Problem(
                    end_name,
                    "date.range",
                    f"{_zh(table, end_name)}{end.isoformat()}早于{_zh(table, start_name)}{start.isoformat()}",
                )
            )


def _citizen(category: object, rules: PublicationRules) -> bool:
    """Whether the subject gets a citizen's (公民) low-fine limit rather than an organization's."""
    return category == NATURAL_PERSON or (category == SOLE_PROPRIETOR and rules.sole_proprietors_as_persons)


def _publication_end(values: Mapping[str, Value], decided: date, rules: PublicationRules) -> date:
    categories = values.get("penalty_categories")
    act = values.get("illegal_act_type")
    fine = values.get("fine_amount")
    restriction = values.get("valid_to")
    supplied = values.get("publication_end")
    return publication_end(
        decided,
        categories if isinstance(categories, tuple) else (),
        illegal_act_type=act if isinstance(act, str) else "",
        fine_amount_wan=fine if isinstance(fine, Decimal) else None,
        restriction_end=restriction if isinstance(restriction, date) else None,
        supplied_end=supplied if isinstance(supplied, date) else None,
        natural_person=_citizen(values.get("subject_category"), rules),
        rules=rules,
    )


# Decision dates repeat across a batch and calendars are immutable: deadlines are memoized per calendar
# object (held here, so its id cannot be reused; operators load a handful per process at most).
_DEADLINES: dict[int, tuple[WorkingCalendar, dict[date, Deadline]]] = {}


def _deadline(decided: date, calendar: WorkingCalendar) -> Deadline:
    entry = _DEADLINES.get(id(calendar))
    if entry is None or entry[0] is not calendar:
        if len(_DEADLINES) >= 8:
            _DEADLINES.clear()
        entry = _DEADLINES[id(calendar)] = (calendar, {})
    memo = entry[1]
    due = memo.get(decided)
    if due is None:
        if len(memo) >= 1 << 16:
            memo.clear()
        due = memo[decided] = deadline(decided, calendar)
    return due


def _invalid_input(kind: Kind | None, problem: Problem) -> Validation:
    return Validation(kind, None, (problem,), (), MappingProxyType({}), None, None, None)


def validate(
    kind: str,
    raw: Mapping[str, object],
    *,
    today: date,
    calendar: WorkingCalendar | None = None,
    options: ValidationOptions = DEFAULT_OPTIONS,
) -> Validation:
    """Validate one record of `kind` ("licence" | "penalty") given as input name → value (see module doc)."""
    if kind not in KINDS:
        return _invalid_input(None, Problem("", "record.kind", f"未知的决定类型“{kind}”（应为licence或penalty）"))
    checked_kind: Kind = "licence" if kind == "licence" else "penalty"
    if not isinstance(raw, Mapping):
        return _invalid_input(checked_kind, Problem("", "record.type", "记录应为“字段名: 值”的映射"))
    plan = _plan(checked_kind)
    table = plan.table
    names = plan.names
    values: dict[str, Value] = {}
    bad: set[str] = set()
    problems: list[Problem] = []
    unknown: list[str] = []
    implausible = options.implausible_amount_wan
    memo = MEMO
    text_size = 0

    for name, raw_value in raw.items():
        route = names.get(name) if type(name) is str else None
        if route is None:
            route = _resolve(plan, name)
            if route is None:
                unknown.append(str(name))
                continue
        if raw_value is None or raw_value == "":
            continue  # an empty cell: templates carry every column, most of them empty in any one row
        field, how = route
        # The common cases inline, cheapest test first. Plain text is most of a record: trim, and look for
        # control characters only when str.isprintable (false for every one of them) cannot rule them out.
        value: Value | None
        if how == _TEXT and type(raw_value) is str:
            value = text = raw_value.strip()
            problem = None
            if not text.isprintable():  # line breaks, or characters normalize_text drops or refuses
                value, problem = normalize_text(field, text)
            text_size += len(text)
        elif how == _MEMOIZED and type(raw_value) is str:
            value, problem = memo.get((field, raw_value)) or normalize_memoized(field, raw_value)
        elif how == _IDENTIFIER and type(raw_value) is str and raw_value.isascii() and raw_value.isalnum():
            value, problem = raw_value.upper(), None  # normalize_identifier's own fast path
        elif how == _AMOUNT:
            value, problem = parse_amount(field, raw_value, implausible)
        else:
            value, problem = NORMALIZERS[field.type](field, raw_value)
        key = field.name
        if problem is not None:
            problems.append(problem)
            bad.add(key)
            values.pop(key, None)
        elif value is None or value == "" or key in bad:
            continue
        elif key in values:
            if values[key] != value:
                problems.append(_duplicate(field, raw, name))
                bad.add(key)
                del values[key]
        else:
            values[key] = value

    for field in plan.fallbacks:
        if field.name not in values and field.name not in bad and field.fallback in values:
            values[field.name] = values[field.fallback]

    missing = plan.always.difference(values, bad)
    if missing:
        for field in table.fields:
            if field.name in missing:
                problems.append(Problem(field.name, "field.required", _required_message(field, table)))
    absent = plan.conditional_names.difference(values, bad)
    if absent:
        for field in plan.conditional:
            if field.name in absent and _condition_holds(field, values):
                problems.append(Problem(field.name, "field.required", _required_message(field, table)))
    for field in plan.conditional:
        amount = values.get(field.name)
        if isinstance(amount, Decimal) and amount.is_zero() and _condition_holds(field, values):
            # 罚款 of 0 万元: a placeholder, not the amount the rule asks for.
            message = f"{field.zh}为0：{_required_message(field, table)}，应填写实际金额（万元）"
            problems.append(Problem(field.name, "amount.zero", message))

    _check_lengths(plan, values, bad, problems, text_size)
    _check_id_numbers(plan, values, bad, problems, today)
    _check_subject(values, problems, today)
    rules = options.publication_rules.for_department(values.get("source_department_code"))
    _check_dates(table, values, problems, today, rules)
    if options.strict:
        problems.extend(Problem(name, "field.unknown", f"无法识别的字段“{name}”") for name in unknown)

    authority, number = values.get("authority_code"), values.get("document_number")
    identity = None
    if isinstance(authority, str) and isinstance(number, str):
        problem = _identity_problem(table, number)
        if problem is None:
            identity = decision_id(checked_kind, authority, number)
        else:
            problems.append(problem)
    decided = values.get("decision_date")
    decision_date = decided if isinstance(decided, date) else None
    due = _deadline(decision_date, calendar or default_calendar()) if decision_date is not None else None

    if problems:
        order = plan.order
        problems.sort(key=lambda p: order.get(p.field, len(order)))
    frozen = MappingProxyType(values)
    record = None
    if not problems and identity is not None and decision_date is not None and due is not None:
        subject_code = values.get("subject_code")
        record = Decision(
            kind=checked_kind,
            decision_id=identity,
            values=frozen,
            decision_date=decision_date,
            deadline=due,
            subject_code=subject_code if isinstance(subject_code, str) else None,
            publication_end=(_publication_end(values, decision_date, rules) if checked_kind == "penalty" else None),
        )
    return Validation(
        kind=checked_kind,
        record=record,
        problems=tuple(problems),
        unknown_fields=tuple(unknown),
        values=frozen,
        decision_id=identity,
        decision_date=decision_date,
        deadline=due,
    )


def _duplicate(field: Field, raw: Mapping[str, object], second: object) -> Problem:
    # Rare path: find the input name the first value came from instead of tracking it for every value.
    kind = field.kind
    first = next((str(n) for n in raw if n != second and isinstance(n, str) and resolve_header(kind, n) is field), "?")
    return Problem(field.name, "field.duplicate", f"{field.zh}重复给出（“{first}”与“{second}”），且取值不同")


def _resolve(plan: _Plan, name: object) -> _Route | None:
    """Resolve an input name not seen before and remember it (bounded: input names are few in practice)."""
    if not isinstance(name, str):
        return None
    field = resolve_header(plan.table.kind, name)
    if field is None:
        return None
    route = _route(field)
    if len(plan.names) < _NAMES_REMEMBERED:
        plan.names[name] = route
    return route
