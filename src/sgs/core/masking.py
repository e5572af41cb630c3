"""Projections of a decision: what the public may see, and the complete archive copy.

The public view is driven by the field table's publicity column (STANDARD.md §6): `never` fields are dropped,
`masked` ones pass through `mask_id_number`. Personal numbers a clerk typed elsewhere are masked too: in free
text (违法事实, 备注…) any run of 15–19 digits (resident ID numbers, bank cards) and any mobile number; in the
subject's other code fields (工商注册号, 税务登记号…) a resident ID number (a 个体工商户's tax number is often its
operator's), and for a natural person every such code. Both views are JSON-ready: dates as ISO strings,
amounts (万元) as decimal strings, multi-valued fields as lists.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal
from typing import Any

from sgs.core.codes import id_number_reason, mask_id_number, normalize_code
from sgs.core.decision import Decision
from sgs.core.fields import Kind, Publicity, ValueType, fields_of
from sgs.core.normalize import Value


def json_value(value: Value) -> str | list[str]:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


@functools.cache
def _publicity(kind: Kind) -> tuple[tuple[str, Publicity, ValueType], ...]:
    return tuple((f.name, f.publicity, f.type) for f in fields_of(kind))


_DIGIT = "0-9０-９"
# A run of 15–19 digits (an X may end it), or a mobile number (1, then 3–9, then 9 digits), standing alone.
_PERSONAL_NUMBER = re.compile(
    f"(?<![{_DIGIT}A-Za-zＡ-Ｚａ-ｚ])"
    f"(?:[{_DIGIT}]{{15,19}}[XxＸｘ]?|[1１][3-9３-９][{_DIGIT}]{{9}})"
    f"(?![{_DIGIT}A-Za-zＡ-Ｚａ-ｚ])"
)
_MOBILE_DIGITS = 11


def _masked_number(match: re.Match[str]) -> str:
    number = match[0]
    shown = 3 if len(number) == _MOBILE_DIGITS else 6  # a mobile's network prefix; an ID's region
    return number[:shown] + "*" * (len(number) - shown)


def mask_personal_numbers(text: str) -> str:
    """`text` with every resident ID number, bank card number and mobile number in it masked."""
    if _PERSONAL_NUMBER.search(text) is None:
        return text
    return _PERSONAL_NUMBER.sub(_masked_number, text)


def _is_resident_id(value: str) -> bool:
    code = normalize_code(value)
    return len(code) in (15, 18) and id_number_reason(code) is None


def _common(decision: Decision) -> dict[str, Any]:
    view: dict[str, Any] = {
        "kind": decision.kind,
        "decision_id": decision.decision_id,
        "subject_code": decision.subject_code,
    }
    if decision.publication_end is not None:
        view["publication_end"] = decision.publication_end.isoformat()
    return view


def public_view(decision: Decision) -> dict[str, Any]:
    """The fields the public may see, masked as the table says; absent fields are left out."""
    view = _common(decision)
    values = decision.values
    person = decision.natural_person
    for name, publicity, value_type in _publicity(decision.kind):
        value = values.get(name)
        if value is None or publicity == "never":
            continue
        if publicity == "masked":
            view[name] = mask_id_number(value) if isinstance(value, str) else None
        elif value_type == "text" and isinstance(value, str):
            view[name] = mask_personal_numbers(value)
        elif value_type == "identifier" and isinstance(value, str) and (person or _is_resident_id(value)):
            view[name] = mask_id_number(value)
        else:
            view[name] = json_value(value)
    return view


def archive_view(decision: Decision) -> dict[str, Any]:
    """Everything the platform knows of the decision (for the authenticated archive), JSON-serializable."""
    view = _common(decision)
    view["deadline"] = decision.deadline.date.isoformat()
    view["deadline_provisional"] = decision.deadline.provisional
    for name, value in decision.values.items():
        view[name] = json_value(value)
    return view
