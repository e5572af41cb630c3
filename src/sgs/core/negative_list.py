"""The negative list (政务公开负面清单): decisions, or fields of decisions, withheld from the public view.

STANDARD §6: beyond the fixed masking rules, the list names "further decisions or fields that must be
withheld"; it is configuration (the `negative_list` of the publication rules file). Each entry says which
decisions it covers — by kind, reporting department (数据来源单位统一社会信用代码), category (处罚类别 / 许可类别),
keywords in the decision's text, or decision ids; the conditions an entry gives must all hold — and what of them
is withheld: the named fields, or without `fields` the whole decision (it stays in the archive).

`withholding` is pure and reads a decision's values in either form the platform holds them: a validated
decision's values or its JSON archive document (`sgs reindex` applies a changed list to decisions published
before).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sgs.core.codes import normalize_code, uscc_reason
from sgs.core.docnum import canonical_decision_id
from sgs.core.fields import KINDS, Kind, fields_of, resolve_header, value_key
from sgs.core.normalize import NORMALIZERS

# A 文号 and the issuing authority are the decision id itself, which every public document carries: withholding
# them alone would hide nothing. Such a decision is withheld whole.
_IDENTITY_FIELDS = frozenset({"document_number", "authority_code"})
_CATEGORY_FIELD: Mapping[str, str] = {"penalty": "penalty_categories", "licence": "licence_category"}
OTHER = "其他"
_CONDITIONS = ("kind", "departments", "categories", "keywords", "decision_ids")
_KEYS = frozenset({"reason", "fields", *_CONDITIONS})


@dataclass(frozen=True, slots=True)
class Withhold:
    """One entry of the negative list. Empty conditions match every decision; empty `fields` withholds the whole
    decision."""

    reason: str
    kinds: frozenset[str] = frozenset(KINDS)
    departments: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    decision_ids: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def covers(self, kind: str, values: Mapping[str, Any]) -> bool:
        if kind not in self.kinds:
            return False
        if self.departments:
            source = values.get("source_department_code")
            if not isinstance(source, str) or normalize_code(source) not in self.departments:
                return False
        if self.decision_ids and values.get("decision_id") not in self.decision_ids:
            return False
        if self.categories and not any(_is_category(c, self.categories) for c in _categories(kind, values)):
            return False
        return not self.keywords or any(
            keyword in value_key(text) for text in _texts(kind, values) for keyword in self.keywords
        )


@dataclass(frozen=True, slots=True)
class Withholding:
    """What the negative list withholds of one decision: all of it (`reason` of the first entry that withholds
    it whole), or these fields."""

    reason: str | None = None
    fields: frozenset[str] = frozenset()


NOTHING_WITHHELD = Withholding()


def withholding(entries: Iterable[Withhold], kind: str, values: Mapping[str, Any]) -> Withholding:
    """What `entries` withhold of a decision of `kind` whose values (and `decision_id`) are `values`."""
    fields: set[str] = set()
    for entry in entries:
        if entry.covers(kind, values):
            if not entry.fields:
                return Withholding(entry.reason, frozenset())
            fields.update(entry.fields)
    return Withholding(None, frozenset(fields)) if fields else NOTHING_WITHHELD


def _categories(kind: str, values: Mapping[str, Any]) -> Iterable[str]:
    value = values.get(_CATEGORY_FIELD.get(kind, ""))
    if isinstance(value, str):
        return (value,)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else ()


def _is_category(value: str, wanted: tuple[str, ...]) -> bool:
    # "其他" covers every "其他-<name>" a department wrote.
    return any(value == c or (c == OTHER and value.startswith(OTHER + "-")) for c in wanted)


@functools.cache
def _text_fields(kind: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields_of(kind) if f.type == "text") if kind in KINDS else ()


def _texts(kind: str, values: Mapping[str, Any]) -> Iterable[str]:
    return [v for name in _text_fields(kind) if isinstance(v := values.get(name), str)]


def category_value(kind: Kind, text: str) -> str | None:
    """The standard's name of one 处罚类别 / 许可类别 as a department may write it (吊销许可证 is 吊销许可证件), or
    None when it is none; "其他" alone stands for every "其他-…"."""
    if text.strip() == OTHER:
        return OTHER
    field = resolve_header(kind, _CATEGORY_FIELD[kind])
    assert field is not None
    value, problem = NORMALIZERS[field.type](field, text)
    if problem is not None:
        return None
    names = value if isinstance(value, tuple) else (value,)
    return names[0] if len(names) == 1 and isinstance(names[0], str) else None


# --- configuration ------------------------------------------------------------------------------------------------


class NegativeListError(ValueError):
    """An entry that cannot be used; the message says which key and why."""


def parse_negative_list(data: object) -> tuple[Withhold, ...]:
    """Entries from the YAML value of `negative_list` (a list of mappings; see the README for the keys)."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise NegativeListError("negative_list: 应为条目的列表")
    return tuple(_entry(item, f"negative_list[{number}]") for number, item in enumerate(data, start=1))


def _entry(item: object, where: str) -> Withhold:
    if not isinstance(item, dict):
        raise NegativeListError(f"{where}: 应为一个映射（reason、fields及条件）")
    unknown = sorted(map(str, set(item) - _KEYS))
    if unknown:
        raise NegativeListError(f"{where}: 未知的键 {', '.join(unknown)}（可用：{', '.join(sorted(_KEYS))}）")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise NegativeListError(f"{where}.reason: 应写明依据或理由（如“涉及国家秘密”）")
    kinds = _kinds(item.get("kind"), f"{where}.kind")
    fields = frozenset(_field(name, kinds, f"{where}.fields") for name in _strings(item, "fields", where))
    departments = frozenset(_department(code, f"{where}.departments") for code in _strings(item, "departments", where))
    ids = frozenset(_decision_id(text, f"{where}.decision_ids") for text in _strings(item, "decision_ids", where))
    categories = tuple(
        name for text in _strings(item, "categories", where) for name in _categories_named(text, kinds, where)
    )
    keywords = tuple(value_key(keyword) for keyword in _strings(item, "keywords", where))
    if not fields and not (departments or ids or categories or keywords):
        raise NegativeListError(
            f"{where}: 不列 fields 即不公示整条决定，须至少给出 departments、categories、keywords 或 decision_ids 之一"
        )
    return Withhold(reason.strip(), kinds, departments, categories, keywords, ids, fields)


def _categories_named(text: str, kinds: frozenset[str], where: str) -> set[str]:
    found = {name for kind in kinds if (name := category_value(_kind(kind), text)) is not None}
    if not found:
        raise NegativeListError(
            f"{where}.categories: “{text}”不是{'或'.join(sorted(kinds))}的类别（处罚类别/许可类别）"
        )
    return found


def _strings(item: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
    value = item.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise NegativeListError(f"{where}.{key}: 应为非空文本的列表")
    return tuple(v.strip() for v in value)


def _kinds(value: object, where: str) -> frozenset[str]:
    if value is None:
        return frozenset(KINDS)
    if value not in KINDS:
        raise NegativeListError(f"{where}: 应为 licence 或 penalty，实为“{value}”")
    return frozenset({str(value)})


def _field(name: str, kinds: frozenset[str], where: str) -> str:
    # A name means one field in both kinds where both have it (the field table's names and aliases agree).
    found = [field.name for kind in sorted(kinds) if (field := resolve_header(_kind(kind), name)) is not None]
    if not found:
        raise NegativeListError(f"{where}: “{name}”不是{'或'.join(sorted(kinds))}的字段")
    field_name = found[0]
    if field_name in _IDENTITY_FIELDS:
        raise NegativeListError(f"{where}: “{name}”是决定标识的一部分，无法单独不公示；应不列 fields，不公示整条决定")
    return field_name


def _kind(kind: str) -> Kind:
    return "licence" if kind == "licence" else "penalty"


def _department(text: str, where: str) -> str:
    code = normalize_code(text)
    reason = uscc_reason(code)
    if reason is not None:
        raise NegativeListError(f"{where}: “{text}”不是有效的统一社会信用代码（{reason[1]}）")
    return code


def _decision_id(text: str, where: str) -> str:
    canonical = canonical_decision_id(text)
    if canonical is None:
        raise NegativeListError(f"{where}: “{text}”不是决定标识（应为 kind:机关代码:文号）")
    return canonical
