"""Projections of a decision: what the public may see, and the complete archive copy.

The public view is driven by the field table's publicity column (STANDARD.md §6): `never` fields are dropped,
`masked` ones pass through `mask_id_number`. Personal numbers a clerk typed elsewhere are masked too: in free
text (违法事实, 备注…, and the "其他-…" text of enumerations) any run of 15–19 digits (resident ID numbers, bank
cards) and any mobile number; in the subject's other code fields (工商注册号, 税务登记号…) a resident ID number (a
个体工商户's tax number is often its operator's), and for a natural person every such code. Both views are
JSON-ready: dates as ISO strings, amounts (万元) as decimal strings, multi-valued fields as lists.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sgs.core.codes import id_number_reason, mask_id_number, normalize_code
from sgs.core.decision import NATURAL_PERSON, SOLE_PROPRIETOR, Decision
from sgs.core.fields import Kind, Publicity, ValueType, fields_of
from sgs.core.normalize import Value
from sgs.core.personal_numbers import is_year_list, mask_found, masked, may_hold_personal_numbers


def json_value(value: Value) -> str | list[str]:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


@functools.cache
def _publicity(kind: Kind) -> tuple[tuple[str, Publicity], ...]:
    return tuple((f.name, f.publicity) for f in fields_of(kind))


_DIGIT = "[0-9０-９]"
_CHECK = "[0-9０-９XxＸｘ]"
_SEP = "[ \\-]"  # one space or hyphen between a number's groups (personal_numbers finds the other forms)
# Numbers that identify a person, standing alone among digits (letters around them do not matter: "ID4115…"):
# a run of 15–19 digits (resident ID numbers, an X may end them; bank cards), the same in groups (411502-19900101-
# 1234, 6222 0212 3456 7890 123), and a mobile number, with or without +86 and in groups (139 1234 5678).
_PERSONAL_NUMBER = re.compile(
    f"(?<!{_DIGIT})(?:"
    f"(?P<number>{_DIGIT}{{15,19}}{_CHECK}?"
    f"|{_DIGIT}{{6}}{_SEP}{_DIGIT}{{8}}{_SEP}{_DIGIT}{{3}}{_CHECK}"
    f"|{_DIGIT}{{4}}(?:{_SEP}{_DIGIT}{{4}}){{3,4}}(?:{_SEP}{_DIGIT}{{1,3}}{_CHECK}?)?)"
    f"|(?P<prefix>(?:[+＋]?[8８][6６]{_SEP}?)?)(?P<mobile>[1１][3-9３-９]{_DIGIT}(?:{_SEP}?{_DIGIT}{{4}}){{2}})"
    f")(?!{_DIGIT})"
)


def _masked_number(match: re.Match[str]) -> str:
    if match["mobile"] is not None:  # the network prefix stays (138…), the subscriber's number goes
        return match["prefix"] + masked(match["mobile"], 3)
    if is_year_list(re.split(_SEP, match[0])):
        return match[0]  # 2022 2023 2024 2025: years, not a card in fours
    return masked(match[0], 6)  # an ID's region stays, as in the masked ID number field


def mask_personal_numbers(text: str) -> str:
    """`text` with every resident ID number, bank card number and mobile number in it masked."""
    if not may_hold_personal_numbers(text):
        return text
    # The common shapes first (a +86 mobile, grouped cards), then whatever chains of digits remain.
    return mask_found(_PERSONAL_NUMBER.sub(_masked_number, text))


def _identifies_a_person(value: str, category: object) -> bool:
    """Whether a value in one of the subject's other code fields (工商注册号, 税务登记号…) must be masked: every one
    of a natural person's; a resident ID number of a 个体工商户's operator; for anyone else only an 18-character
    resident ID number (a company's 15-digit 工商注册号 often reads as an old ID number, which has no check)."""
    if category == NATURAL_PERSON:
        return True
    code = normalize_code(value)
    lengths = (15, 18) if category == SOLE_PROPRIETOR else (18,)
    return len(code) in lengths and id_number_reason(code) is None


@functools.cache
def _maskable(kind: Kind) -> tuple[tuple[str, ValueType], ...]:
    return tuple((f.name, f.type) for f in fields_of(kind) if f.publicity == "public" and f.type in MASKED_TYPES)


# Enumerations too: the free text of "其他-…" (其他-户口簿411502…, 其他-扣押…) is written by the clerk.
MASKED_TYPES = frozenset({"text", "identifier", "enum", "enum_multi"})


# A fixed-line number (STANDARD §6: a natural person's telephone numbers are never published): area code 010, 02x
# or 0xxx, in brackets or not, then a 7–8 digit subscriber number. Masked in a natural person's decisions only: in
# an organization's, the number is the organization's.
_LANDLINE = re.compile(
    "(?<![0-9０-９])(?P<area>[(（]?0(?:10|2[0-9]|[3-9][0-9]{2})[)）]?[-－ \u3000]?)"
    "(?P<number>[2-9][0-9]{6,7})(?![0-9０-９])"
)


def _masked_landlines(text: str) -> str:
    return _LANDLINE.sub(lambda m: m["area"] + "*" * len(m["number"]), text) if "0" in text else text


def masked_personal_data(document: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """A public document (public_view's form) with the personal numbers in its text and other code fields
    masked, in place. Idempotent; `sgs reindex` applies it to documents published before a rule was added."""
    category = document.get("subject_category")
    person = category == NATURAL_PERSON
    for name, value_type in _maskable(kind):
        value = document.get(name)
        if isinstance(value, list):  # a multi-valued enumeration
            document[name] = [mask_personal_numbers(v) if isinstance(v, str) else v for v in value]
            continue
        if not isinstance(value, str):
            continue
        if value_type != "identifier":
            masked_text = mask_personal_numbers(value)
            document[name] = _masked_landlines(masked_text) if person else masked_text
        elif _identifies_a_person(value, category):
            document[name] = mask_id_number(value)
    return document


def public_view(decision: Decision, withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the public may see of a decision (see `public_document`)."""
    return public_document(decision.kind, archive_view(decision), withheld)


def public_document(kind: Kind, archive: Mapping[str, Any], withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields the public may see, from the archive document (`archive_view`): masked as the table says and of
    personal numbers; absent fields, and the fields the negative list withholds (`withheld`), are left out. Made
    from the archive document so that the worker can make it again when the rules change."""
    view: dict[str, Any] = {
        "kind": kind,
        "decision_id": archive["decision_id"],
        "subject_code": archive.get("subject_code"),
    }
    if archive.get("publication_end") is not None:
        view["publication_end"] = archive["publication_end"]
    for name, publicity in _publicity(kind):
        value = archive.get(name)
        if value is None or publicity == "never":
            continue
        if publicity == "masked":
            view[name] = mask_id_number(value) if isinstance(value, str) else None
        else:
            view[name] = value
    # Masked before fields are withheld: whether the other codes are a natural person's reads 行政相对人类别.
    masked_personal_data(view, kind)
    for name in withheld:
        view.pop(name, None)
    return view


def archive_view(decision: Decision) -> dict[str, Any]:
    """Everything the platform knows of the decision (for the authenticated archive), JSON-serializable."""
    view: dict[str, Any] = {
        "kind": decision.kind,
        "decision_id": decision.decision_id,
        "subject_code": decision.subject_code,
    }
    if decision.publication_end is not None:
        view["publication_end"] = decision.publication_end.isoformat()
    view["deadline"] = decision.deadline.date.isoformat()
    view["deadline_provisional"] = decision.deadline.provisional
    for name, value in decision.values.items():
        view[name] = json_value(value)
    return view
