"""Value normalizers, one per value type of the field table: raw input → typed value, or a problem.

Every normalizer takes what a department sent (text, or a number/date from JSON or a spreadsheet cell) and
returns `(value, problem)`: the typed value (str, date, Decimal, tuple of canonical enum values) or None, and at
most one problem. Blank input (None, "", whitespace only) is "not given": `(None, None)`; whether that is a
problem is the required rules' business. Nothing here raises on bad input.

Pure and cached: the checks of codes, dates and enumeration values are memoized by their input text, because
realistic batches repeat them (one authority's code, a handful of decision dates, "警告、罚款").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final, cast

from sgs.core.codes import Reason, normalize_code, org_code_form, org_code_reason, uscc_reason
from sgs.core.dates import check_date
from sgs.core.fields import Enumeration, Field, ValueType, value_key
from sgs.core.problems import Problem
from sgs.core.text import UNACCEPTABLE, to_halfwidth, unacceptable_characters, without_invisible

Value = str | date | Decimal | tuple[str, ...]
Normalized = tuple[Value | None, Problem | None]

# Amounts are in 万元. A value at or above this is far more likely 元 typed into a 万元 column (¥2,000 typed as
# 2000 instead of 0.2) than a real fine of ¥10,000,000 from a city department; deployments that do see such
# fines raise it (ValidationOptions.implausible_amount_wan).
DEFAULT_IMPLAUSIBLE_WAN: Final = Decimal(1000)
# 6 decimal places of 万元 is 1 分; more is noise, not money.
AMOUNT_DECIMALS: Final = 6
# 2099-12-31 in 有效期至 / 处罚有效期 means 长期 (no end).
LONG_TERM: Final = date(2099, 12, 31)
# "17 zeros + X" is what the standard tells 个体工商户 without a unified code to enter; it means "none".
USCC_PLACEHOLDERS: Final = frozenset({"00000000000000000X"})

_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_CURRENCY = str.maketrans({"¥": None, "￥": None})
_CACHE = 1 << 16
_ABSENT: Final[Normalized] = (None, None)


def is_long_term(day: date | None) -> bool:
    return day == LONG_TERM


# --- raw input to text ------------------------------------------------------------------------------------------


def raw_text(raw: object) -> str | None:
    """A scalar cell or JSON value as text; None for values that cannot be field values (bool, list, NaN…).

    Spreadsheets store numeric-looking codes as floats: 411502000012345.0 is the text 411502000012345.
    """
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, Decimal):
        return format(raw, "f") if raw.is_finite() else None
    if isinstance(raw, date):  # datetime included
        return raw.isoformat()
    return None


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and (not raw or raw.isspace()))


def _type_problem(field: Field, raw: object) -> Problem:
    return Problem(field.name, "value.type", f"{field.zh}的值类型无法识别（{type(raw).__name__}），应为文本")


def _shown(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


# --- text ----------------------------------------------------------------------------------------------------------


def normalize_text(field: Field, raw: object) -> Normalized:
    """Trimmed text without invisible characters (text.INVISIBLE). HTML stays plain text (never interpreted or
    stripped: the public page escapes it); control characters other than tab and line breaks, lone surrogates
    and bidirectional overrides are a problem naming their code points."""
    text = raw if type(raw) is str else raw_text(raw)
    if text is None:
        return None, _type_problem(field, raw)
    value = text.strip()
    if value.isprintable():  # false for every character dropped or refused below
        return value or None, None
    value = without_invisible(value).strip()
    if not value:
        return _ABSENT
    if UNACCEPTABLE.search(value) is not None:
        return None, unacceptable(field, value)
    return value, None


def unacceptable(field: Field, text: str) -> Problem:
    names = "、".join(unacceptable_characters(text))
    return Problem(field.name, "text.control_characters", f"{field.zh}含有控制字符或无效字符 {names}，请删除后重新提交")


# --- codes -----------------------------------------------------------------------------------------------------------


def _lost_digits(field: Field, raw: float) -> Problem:
    return Problem(
        field.name,
        "value.spreadsheet_number",
        f"{field.zh}在表格中存为数字（{raw:.15g}），Excel只保留15位有效数字，后几位可能已丢失："
        "请把该列设为“文本”格式后重新输入",
    )


def _code(
    field: Field, raw: object, normalize: Callable[[str], str], judge: Callable[[str], Reason | None]
) -> Normalized:
    # The codes module's reason functions, not its CodeCheck wrappers: no object is built for a valid code.
    if type(raw) is float and abs(raw) >= 1e15:
        return None, _lost_digits(field, raw)
    text = raw if type(raw) is str else raw_text(raw)
    if text is None:
        return None, _type_problem(field, raw)
    if UNACCEPTABLE.search(text) is not None:
        return None, unacceptable(field, text)
    code = normalize(text)
    reason = judge(code)
    if reason is None:
        return code, None
    reason_code, message = reason
    if reason_code == "code.empty":
        return None, None
    return None, Problem(field.name, reason_code, f"{field.zh}“{_shown(text)}”：{message}")


def normalize_uscc(field: Field, raw: object) -> Normalized:
    """A unified social credit code (GB 32100), check character verified; the placeholder 17×0+X is absent."""
    result = _code(field, raw, normalize_code, uscc_reason)
    if result[1] is not None and isinstance(raw, str) and normalize_code(raw) in USCC_PLACEHOLDERS:
        return _ABSENT
    return result


def normalize_org_code(field: Field, raw: object) -> Normalized:
    """An organization code (GB 11714), stored as 9 characters without the hyphen."""
    return _code(field, raw, org_code_form, org_code_reason)


def normalize_identifier(field: Field, raw: object) -> Normalized:
    """Registration numbers without a check the platform can verify: half-width, upper-case, no spaces."""
    if type(raw) is str and raw.isascii() and raw.isalnum():
        return raw.upper(), None  # what normalize_code gives for plain ASCII letters and digits, cheaper
    if type(raw) is float and abs(raw) >= 1e15:
        return None, _lost_digits(field, raw)
    text = raw_text(raw)
    if text is None:
        return None, _type_problem(field, raw)
    if UNACCEPTABLE.search(text) is not None:
        return None, unacceptable(field, text)
    return normalize_code(text) or None, None


PLAIN_TEXT: Final = frozenset({"text", "document_number"})
"""Types whose normalization is `normalize_text`; validate inlines its fast path."""

# ID numbers are checked against their 证件类型 by validate (a cross-field rule); here they are only compacted.
normalize_id_number = normalize_identifier


def normalize_document_number_text(field: Field, raw: object) -> Normalized:
    """The 文号 as written (trimmed) — the decision id normalizes it, the display keeps it."""
    return normalize_text(field, raw)


# --- dates -------------------------------------------------------------------------------------------------------


def normalize_date(field: Field, raw: object) -> Normalized:
    """A calendar date from any shape STANDARD.md lists (Excel serials included)."""
    if isinstance(raw, date):
        result = check_date(raw)
    elif isinstance(raw, str):
        if not raw or raw.isspace():
            return _ABSENT
        result = check_date(raw)
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        result = check_date(raw)
    else:
        return None, _type_problem(field, raw)
    if result.date is not None:
        return result.date, None
    if result.reason_code == "date.empty":
        return None, None
    code = result.reason_code or "date.shape"
    return None, Problem(field.name, code, f"{field.zh}：{result.reason}")


# --- amounts -----------------------------------------------------------------------------------------------------


def _amount_problem(field: Field, code: str, message: str) -> Normalized:
    return None, Problem(field.name, code, f"{field.zh}{message}")


_AMOUNTS: dict[tuple[Field, str, Decimal], Normalized] = {}


def parse_amount(field: Field, raw: object, implausible_wan: Decimal = DEFAULT_IMPLAUSIBLE_WAN) -> Normalized:
    """An amount in 万元 as Decimal: "0.2", "2,000.5", full-width digits, a trailing 万元/万 and ¥ accepted."""
    if type(raw) is not str:
        return _parse_amount(field, raw, implausible_wan)
    # Memoized: fines come in a few round amounts.
    key = (field, raw, implausible_wan)
    hit = _AMOUNTS.get(key)
    if hit is None:
        if len(_AMOUNTS) >= _CACHE:
            _AMOUNTS.clear()
        hit = _AMOUNTS[key] = _parse_amount(field, raw, implausible_wan)
    return hit


def _parse_amount(field: Field, raw: object, implausible_wan: Decimal) -> Normalized:
    amount: Decimal | None = None
    if isinstance(raw, bool):
        return _amount_problem(field, "amount.not_a_number", "应为数字（单位万元）")
    if isinstance(raw, int):
        amount = Decimal(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            return _amount_problem(field, "amount.not_a_number", "应为数字（单位万元）")
        amount = Decimal(repr(raw))
    elif isinstance(raw, Decimal):
        if not raw.is_finite():
            return _amount_problem(field, "amount.not_a_number", "应为数字（单位万元）")
        amount = raw
    elif isinstance(raw, str):
        plain = "".join(without_invisible(to_halfwidth(raw)).replace("萬", "万").split())  # 萬: traditional 万
        text = plain.translate(_CURRENCY)
        if not text:
            return None, None
        if text.endswith("万元"):
            text = text[:-2]
        elif text.endswith("万"):
            text = text[:-1]
        elif text.endswith("元") or text != plain:  # ¥500 is 500 元, as much as 500元 is
            number = text[:-1] if text.endswith("元") else text
            hint = ""
            if _AMOUNT.fullmatch(number.replace(",", "")):
                hint = f"，应填{_format_wan(Decimal(number.replace(',', '')) / 10000)}"
            return _amount_problem(
                field, "amount.unit", f"“{_shown(raw)}”以元为单位；本项单位为万元（¥2,000填0.2）{hint}"
            )
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        if not _AMOUNT.fullmatch(text):
            return _amount_problem(field, "amount.not_a_number", f"“{_shown(raw)}”不是数字（单位万元，如0.2）")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            return _amount_problem(field, "amount.not_a_number", f"“{_shown(raw)}”不是数字（单位万元，如0.2）")
    else:
        return None, _type_problem(field, raw)
    return _check_amount(field, amount, implausible_wan)


def _format_wan(amount: Decimal, grouping: str = "") -> str:
    text = format(amount, f"{grouping}f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check_amount(field: Field, amount: Decimal, implausible_wan: Decimal) -> Normalized:
    if amount.is_zero():
        amount = amount.copy_abs()  # "-0" is 0, and is shown so
    if amount < 0:
        return _amount_problem(field, "amount.negative", f"不能为负数（{_format_wan(amount)}）")
    if amount >= implausible_wan:
        return _amount_problem(
            field,
            "amount.implausible",
            f"为{_format_wan(amount)}万元（即¥{_format_wan(amount * 10000, ',')}），"
            f"超过合理上限{_format_wan(implausible_wan)}万元。"
            f"本项单位为万元：如填写的是元，应填{_format_wan(amount / 10000)}",
        )
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > AMOUNT_DECIMALS:
        return _amount_problem(field, "amount.precision", f"小数位过多（单位万元，最多{AMOUNT_DECIMALS}位小数即1分）")
    return amount, None


# --- enumerations -------------------------------------------------------------------------------------------------

_OTHER_SEPARATORS = "-—–:_(（"
_OTHER_CLOSERS = ")）"


def _other(enum: Enumeration, text: str) -> str | None:
    """`其他-名称` for 其他 followed by a name in any common form (其他：名称, 其他（名称）); `其他` alone when
    the enumeration allows it unnamed; None when `text` is not an "other" value or lacks a required name."""
    if enum.other is None or not text.startswith(enum.other):
        return None
    name = text[len(enum.other) :].lstrip(_OTHER_SEPARATORS).rstrip(_OTHER_CLOSERS).strip()
    if not name:
        return None if enum.other_requires_name else enum.other
    return f"{enum.other}-{name}"


def _one(enum: Enumeration, text: str) -> tuple[str, ...] | None:
    hit = enum.lookup.get(value_key(text))
    if hit is not None:
        if hit == (enum.other,) and enum.other_requires_name:
            return None
        return hit
    other = _other(enum, "".join(to_halfwidth(text).split()))
    return None if other is None else (other,)


@functools.lru_cache(maxsize=_CACHE)
def _compounds(enum: Enumeration) -> tuple[tuple[str, str], ...]:
    """Accepted spellings that contain a separator (没收违法所得、没收非法财物), longest first, with a
    placeholder that survives splitting."""
    spelled = sorted((k for k in enum.lookup if any(s in k for s in enum.separators)), key=len, reverse=True)
    return tuple((k, f"\x00{i}\x00") for i, k in enumerate(spelled))


def parse_enum(enum: Enumeration, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(canonical values, unrecognized parts). Single-valued enumerations give at most one value; multi-valued
    ones split on their separators, map legacy values (one may give several) and drop repeats."""
    whole = _one(enum, text)
    if whole is not None:
        return whole, ()
    if not enum.multi:
        return (), (text.strip(),)
    key = value_key(text)
    restore: dict[str, str] = {}
    for spelling, placeholder in _compounds(enum):
        if spelling in key:
            key = key.replace(spelling, placeholder)
            restore[placeholder] = spelling
    parts = re.split(f"[{re.escape(enum.separators)}]", key)
    values: dict[str, None] = {}
    unknown: list[str] = []
    for part in parts:
        if not part:
            continue
        part = restore.get(part, part)
        hit = _one(enum, part)
        if hit is None:
            unknown.append(part)
        else:
            values.update(dict.fromkeys(hit))
    return tuple(values), tuple(unknown)


def normalize_enum(field: Field, raw: object) -> Normalized:
    enum = field.enum
    several = isinstance(raw, list | tuple) and raw and all(isinstance(part, str) for part in raw)
    if enum is not None and field.type == "enum_multi" and several:  # JSON's own way: ["警告", "罚款"]
        raw = enum.separators[:1].join(cast(list[str], raw))
    text = raw_text(raw)
    if enum is None or text is None:
        return None, _type_problem(field, raw)
    if not text or text.isspace():
        return None, None
    values, unknown = parse_enum(enum, text)
    if unknown or not values:
        shown = "、".join(f"“{_shown(u, 20)}”" for u in unknown) or f"“{_shown(text, 20)}”"
        if enum.other is not None and all(value_key(u) == value_key(enum.other) for u in unknown):
            return None, Problem(
                field.name, "enum.other_unnamed", f"{field.zh}为“{enum.other}”时须注明具体类别，如“{enum.other}-名称”"
            )
        return None, Problem(field.name, "enum.unknown", f"{field.zh}{shown}不是允许的值（可用：{enum.allowed()}）")
    if field.type == "enum_multi":
        return values, None
    return values[0], None


# --- dispatch ----------------------------------------------------------------------------------------------------

Normalizer = Callable[[Field, object], Normalized]


# Memo of the types whose values repeat across a batch — codes of the issuing authorities, decision dates,
# category lists, subjects that recur — keyed by (field, text). A plain dict, emptied when full, is cheaper on
# this hot path than lru_cache; validate reads it directly.
MEMOIZED: Final = frozenset({"uscc", "org_code", "date", "enum", "enum_multi"})
MEMO: Final[dict[tuple[Field, str], Normalized]] = {}


def normalize_memoized(field: Field, text: str) -> Normalized:
    """Normalize a text value of a MEMOIZED type through the memo."""
    key = (field, text)
    hit = MEMO.get(key)
    if hit is None:
        if len(MEMO) >= _CACHE:
            MEMO.clear()
        hit = MEMO[key] = _UNMEMOIZED[field.type](field, text)
    return hit


def _memoized(normalize: Normalizer) -> Normalizer:
    def normalizer(field: Field, raw: object) -> Normalized:
        return normalize_memoized(field, raw) if type(raw) is str else normalize(field, raw)

    return normalizer


_UNMEMOIZED: Final[dict[str, Normalizer]] = {
    "uscc": normalize_uscc,
    "org_code": normalize_org_code,
    "date": normalize_date,
    "enum": normalize_enum,
    "enum_multi": normalize_enum,
}


NORMALIZERS: Final[dict[ValueType, Normalizer]] = {
    "text": normalize_text,
    "document_number": normalize_document_number_text,
    "uscc": _memoized(normalize_uscc),
    "org_code": _memoized(normalize_org_code),
    "identifier": normalize_identifier,
    "id_number": normalize_id_number,
    "date": _memoized(normalize_date),
    "amount_wan": parse_amount,
    "enum": _memoized(normalize_enum),
    "enum_multi": _memoized(normalize_enum),
}


def normalize_value(field: Field, raw: object, *, implausible_wan: Decimal = DEFAULT_IMPLAUSIBLE_WAN) -> Normalized:
    """Normalize one value of `field` (see the module doc)."""
    if raw is None:
        return _ABSENT
    if field.type == "amount_wan":
        return parse_amount(field, raw, implausible_wan)
    return NORMALIZERS[field.type](field, raw)
