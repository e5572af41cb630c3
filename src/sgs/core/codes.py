"""Subject codes: unified social credit code (GB 32100), organization code (GB 11714), resident ID (GB 11643).

Every check returns a `CodeCheck` that says what the code is, whether it is valid, and why not — in a stable
dotted reason code for machines and a Chinese sentence for the clerk. Nothing here raises on bad input.

Order of the unified-code checks: length, alphabet, structure (positions 1, 2, 3–8), check character (18),
embedded organization code (9–17). Structure comes first because it names the faulty position; the check
character catches any single typo the structure cannot see; the embedded GB 11714 check runs last, only on
codes whose own check character is right, so it reports codes that were computed from a bad body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sgs.core.text import INVISIBLE, to_halfwidth

CodeKind = Literal["uscc", "org", "ric"]

Explanation = tuple[tuple[str, str], ...]
Reason = tuple[str, str]  # (reason code, Chinese reason) of an invalid code


@dataclass(frozen=True, slots=True)
class CodeCheck:
    input: str  # as given
    code: str  # normalized; an organization code is stored without its hyphen
    kind: CodeKind
    valid: bool
    reason_code: str | None
    reason: str | None

    @property
    def explanation(self) -> Explanation:
        """Decoded parts, for valid codes too.

        Derived on demand from the code and the reason: validation reads only validity and reason, and
        building the parts for every code checked was a large share of its cost.
        """
        return _EXPLAINERS[self.kind](self.code, self.reason_code)

    def __repr__(self) -> str:  # the explanation was a field: keep showing it
        return (
            f"CodeCheck(input={self.input!r}, code={self.code!r}, kind={self.kind!r}, valid={self.valid!r}, "
            f"reason_code={self.reason_code!r}, reason={self.reason!r}, explanation={self.explanation!r})"
        )


# --- GB 32100 unified social credit code ------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_USCC_EXCLUDED = "IOSVZ"
_USCC_CHARACTERS = re.compile(f"[{USCC_ALPHABET}]*")
# The weights 1, 3, 9, 27, 19, 26, … are 3**i mod 31, and 34 ≡ 3 (mod 31): the weighted sum mod 31 equals
# the code's characters, as their values, read right to left as a base-34 number, mod 31. int() does that in C,
# several times faster than a Python loop; this table writes each character as the base-34 digit of its value
# (bytes: bytes.translate is a plain table lookup, str.translate a dict lookup per character).
_USCC_AS_BASE34 = bytes.maketrans(USCC_ALPHABET.encode(), b"0123456789ABCDEFGHIJKLMNOPQRSTU")


@dataclass(frozen=True, slots=True)
class RegistrationAuthority:
    name: str
    categories: Mapping[str, str]  # position-2 code -> 机构类别


# Position 1 (登记管理部门) and the position-2 categories each one may assign. GB 32100-2015 and the code
# assignments published since (A, N; then G 公安 for foreign NGOs' representative offices, J 住建 for owners'
# assemblies, Q 侨联, and the newer categories 36/54/55/82/99). Real codes exist for all of these, so the table
# errs on the side of accepting: a wrongly rejected real code blocks publication, a wrongly accepted one still
# has to pass the check character. Extend it here when a new assignment is published.
REGISTRATION_AUTHORITIES: Mapping[str, RegistrationAuthority] = {
    "1": RegistrationAuthority(
        "机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}
    ),
    "2": RegistrationAuthority("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": RegistrationAuthority(
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "6": "商事调解组织",
            "9": "其他",
        },
    ),
    "4": RegistrationAuthority("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": RegistrationAuthority(
        "民政",
        {
            "1": "社会团体",
            "2": "民办非企业单位",
            "3": "基金会",
            "4": "村民委员会",
            "5": "居民委员会",
            "9": "其他",
        },
    ),
    "6": RegistrationAuthority(
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    ),
    "7": RegistrationAuthority("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": RegistrationAuthority("工会", {"1": "基层工会", "2": "非法人工会组织", "9": "其他"}),
    "9": RegistrationAuthority("市场监管", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社", "9": "其他"}),
    "A": RegistrationAuthority("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "G": RegistrationAuthority("公安", {"1": "境外非政府组织代表机构", "9": "其他"}),
    "J": RegistrationAuthority("住房城乡建设", {"1": "业主大会", "9": "其他"}),
    "N": RegistrationAuthority(
        "农业农村",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Q": RegistrationAuthority(
        "侨联", {"1": "区县级侨联组织", "2": "乡镇级侨联组织", "3": "村级侨联组织", "9": "其他"}
    ),
    "Y": RegistrationAuthority("其他", {"1": "其他"}),
}


def uscc_check_character(first17: str) -> str | None:
    """The GB 32100 check character for 17 characters of the alphabet; None if any is outside it."""
    if len(first17) != 17 or _USCC_CHARACTERS.fullmatch(first17) is None:
        return None
    return _uscc_check(first17)


def _uscc_check(first17: str) -> str:
    """uscc_check_character for 17 characters known to be of the alphabet."""
    total = int(first17.encode()[::-1].translate(_USCC_AS_BASE34), 34)  # the weighted sum, mod 31 (see above)
    return USCC_ALPHABET[-total % 31]


# --- GB 11714 organization code ---------------------------------------------------------------------------

# GB 11714 values letters A=10 … Z=35 (its own scale, not the unified code's 31-character one).
_ORG_CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_BODY = re.compile("[0-9A-Z]{8}")
# The weights 3, 7, 9, 10, 5, 8, 4, 2 are 2**(9-i) mod 11 (i = 1…8), and 13 ≡ 2 (mod 11): with each value
# reduced mod 11 and written as a base-13 digit, twice the body read as a base-13 number is the weighted sum
# mod 11 — computed by int() in C (see the unified code's check character above).
_ORG_AS_BASE13 = bytes.maketrans(
    _ORG_CHARACTERS.encode(), "".join("0123456789A"[int(ch, 36) % 11] for ch in _ORG_CHARACTERS).encode()
)


def org_check_character(body8: str) -> str | None:
    """The GB 11714 check character (0-9 or X) for an 8-character body; None if the body is malformed."""
    if _ORG_BODY.fullmatch(body8) is None:
        return None
    return _org_check(body8)


def _org_check(body8: str) -> str:
    """org_check_character for 8 characters known to be digits and capital letters."""
    total = 2 * int(body8.encode().translate(_ORG_AS_BASE13), 13)  # the weighted sum, mod 11 (see above)
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


# --- GB 11643 resident ID ----------------------------------------------------------------------------------

_RIC_CHECK = "10X98765432"
# Province-level prefixes of GB/T 2260, plus 81/82/83 used by residence permits of Hong Kong, Macao and
# Taiwan residents. Only the province is checked: county codes change every year and old IDs keep old ones.
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43"}
    | {"44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"}
)
_EARLIEST_BIRTH = date(1900, 1, 1)


def ric_check_character(first17: str) -> str | None:
    """The GB 11643 check character for 17 digits; None if they are not 17 ASCII digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        return None
    # The weights 7, 9, 10, … 4, 2 are 2**(17-i) mod 11 (i = 0…16), and 13 ≡ 2 (mod 11): twice the digits read as a
    # base-13 number is the weighted sum mod 11 — computed by int() in C instead of a Python loop.
    return _RIC_CHECK[2 * int(first17, 13) % 11]


# --- normalization -------------------------------------------------------------------------------------------

# Zero-width characters ride along with text pasted from spreadsheets and web pages; they are never part of a code.


def normalize_code(text: str) -> str:
    """Full-width → half-width, zero-width characters and all whitespace dropped, upper-case."""
    if not isinstance(text, str):  # defensive: callers reading loose data must never see an exception
        return ""
    # ASCII holds no full-width or zero-width characters: skip both translations (most codes arrive so).
    if text.isascii():
        return text.upper() if text.isalnum() else "".join(text.split()).upper()
    return "".join(to_halfwidth(text).translate(INVISIBLE).split()).upper()


def _quote(ch: str) -> str:
    return f"“{ch}”" if ch.isprintable() else f"U+{ord(ch):04X}"


_EMPTY: Reason = ("code.empty", "代码为空")


def _result(text: str, code: str, kind: CodeKind, reason: Reason | None) -> CodeCheck:
    if reason is None:
        return CodeCheck(text, code, kind, True, None, None)
    return CodeCheck(text, code, kind, False, reason[0], reason[1])


# --- checks ----------------------------------------------------------------------------------------------------
#
# Each check is split in two: `*_reason` judges a normalized code and returns None or the reason it is invalid,
# without building any object on the valid path (validation calls these directly); `check_*` wraps it in a
# `CodeCheck`, whose explanation is derived from the code and the reason code only when it is read.


def _uscc_explanation(code: str, reason_code: str | None) -> Explanation:
    if reason_code in ("code.empty", "uscc.length", "uscc.character"):
        return ()
    parts: list[tuple[str, str]] = []
    authority = REGISTRATION_AUTHORITIES.get(code[0])
    if authority is not None:
        parts.append(("登记管理部门", f"{code[0]} {authority.name}"))
        category = authority.categories.get(code[1])
        if category is not None:
            parts.append(("机构类别", f"{code[1]} {category}"))
    parts.append(("登记管理机关行政区划码", code[2:8]))
    parts.append(("主体标识码(组织机构代码)", code[8:17]))
    parts.append(("校验码", code[17]))
    return tuple(parts)


def uscc_reason(code: str) -> Reason | None:
    """Why a normalized unified social credit code is invalid; None when it is valid (GB 32100-2015)."""
    if not code:
        return _EMPTY
    if len(code) != 18:
        return "uscc.length", f"统一社会信用代码应为18位，实为{len(code)}位"
    if _USCC_CHARACTERS.fullmatch(code) is None:  # one C-level test; the loop below only names the culprit
        for position, ch in enumerate(code, start=1):
            if ch not in _USCC_VALUE:
                hint = "不使用I、O、S、V、Z" if ch in _USCC_EXCLUDED else "只用数字和除I、O、S、V、Z外的大写字母"
                return "uscc.character", f"第{position}位字符{_quote(ch)}不能出现在统一社会信用代码中（{hint}）"
    authority = REGISTRATION_AUTHORITIES.get(code[0])
    if authority is None:
        known = "、".join(REGISTRATION_AUTHORITIES)
        return "uscc.registration_authority", f"第1位登记管理部门代码{_quote(code[0])}不存在（应为{known}之一）"
    if code[1] not in authority.categories:
        allowed = "、".join(authority.categories)
        return (
            "uscc.category",
            f"第2位机构类别代码{_quote(code[1])}不属于登记管理部门{code[0]}（{authority.name}），应为{allowed}之一",
        )
    division = code[2:8]
    if not division.isdigit():
        return "uscc.division", f"第3–8位登记管理机关行政区划码“{division}”应为6位数字"
    # Every character is of the alphabet (checked above), which is a subset of GB 11714's: skip re-checking.
    expected = _uscc_check(code[:17])
    if expected != code[17]:
        return "uscc.check_character", f"第18位校验码应为{expected}，实为{code[17]}（代码中可能有录入错误）"
    body = code[8:17]
    body_check = _org_check(body[:8])
    if body_check != body[8]:
        return (
            "uscc.org_code_check",
            f"第9–17位主体标识码（组织机构代码）{body}的校验位应为{body_check}，实为{body[8]}",
        )
    return None


def check_uscc(text: str) -> CodeCheck:
    """Check a unified social credit code (GB 32100-2015)."""
    code = normalize_code(text)
    return _result(text, code, "uscc", uscc_reason(code))


def org_code_form(text: str) -> str:
    """An organization code normalized, and from `XXXXXXXX-X` (the form printed on certificates) to the
    9-character form; anything else is only normalized."""
    code = normalize_code(text)
    return code[:8] + code[9] if len(code) == 10 and code[8] == "-" else code


def _org_explanation(code: str, reason_code: str | None) -> Explanation:
    if reason_code in ("code.empty", "org.length", "org.character"):
        return ()
    return (("本体代码", code[:8]), ("校验码", code[8]))


def org_code_reason(code: str) -> Reason | None:
    """Why an organization code (GB 11714) in `org_code_form` is invalid; None when it is valid."""
    if not code:
        return _EMPTY
    if len(code) != 9:
        return "org.length", f"组织机构代码应为9位（8位本体+1位校验码，可写作XXXXXXXX-X），实为{len(code)}位"
    for position, ch in enumerate(code[:8], start=1):
        if not (ch.isascii() and ch.isalnum()):
            return "org.character", f"第{position}位字符{_quote(ch)}不能出现在组织机构代码中（只用数字和大写字母）"
    if not (code[8] == "X" or (code[8].isascii() and code[8].isdigit())):
        return "org.character", f"第9位校验码只能是数字或X，实为{_quote(code[8])}"
    expected = org_check_character(code[:8])
    if expected != code[8]:
        return "org.check_character", f"第9位校验码应为{expected}，实为{code[8]}"
    return None


def check_org_code(text: str) -> CodeCheck:
    """Check an organization code (GB 11714), 9 characters, with or without the hyphen before the check."""
    code = org_code_form(text)
    return _result(text, code, "org", org_code_reason(code))


def _birth_date(digits: str) -> date | None:
    """The date of 8 ASCII digits YYYYMMDD (callers have checked them), None if there is no such date."""
    try:
        # Python 3.11 reads the basic form YYYYMMDD; about 5× faster than three int() and date().
        return date.fromisoformat(digits)
    except ValueError:
        return None


def _ric_birth_digits(code: str) -> str:
    return code[6:14] if len(code) == 18 else "19" + code[6:12]


def _birth_span(code: str) -> str:
    return "第7–14位" if len(code) == 18 else "第7–12位"


def _ric_explanation(code: str, reason_code: str | None) -> Explanation:
    if reason_code in ("code.empty", "ric.length", "ric.character"):
        return ()
    parts: list[tuple[str, str]] = [("地址码", code[:6])]
    if reason_code == "ric.region":
        return tuple(parts)
    born = _birth_date(_ric_birth_digits(code))
    if born is None:
        return tuple(parts)
    parts.append(("出生日期", born.isoformat()))
    if reason_code == "ric.birth_date":
        return tuple(parts)
    if len(code) == 15:
        parts += [("顺序码", code[12:15]), ("号码类型", "15位旧号码（无校验码）")]
    else:
        parts += [("顺序码", code[14:17]), ("校验码", code[17])]
    return tuple(parts)


def id_number_reason(code: str, *, today: date | None = None) -> Reason | None:
    """Why a normalized resident ID number is invalid; None when it is valid (see `check_id_number`)."""
    if not code:
        return _EMPTY
    if len(code) not in (15, 18):
        return "ric.length", f"公民身份号码应为18位（或15位旧号码），实为{len(code)}位"
    digits = code if len(code) == 15 else code[:17]
    if not (digits.isascii() and digits.isdigit()):  # one C-level test; the loop only names the culprit
        for position, ch in enumerate(digits, start=1):
            if not (ch.isascii() and ch.isdigit()):
                return "ric.character", f"第{position}位应为数字，实为{_quote(ch)}"
    if len(code) == 18 and not (code[17] == "X" or (code[17].isascii() and code[17].isdigit())):
        return "ric.character", f"第18位校验码只能是数字或X，实为{_quote(code[17])}"
    if code[:2] not in _PROVINCES:
        return "ric.region", f"第1–6位地址码“{code[:6]}”不是有效的省级行政区划（前两位{code[:2]}）"
    birth_digits = _ric_birth_digits(code)
    born = _birth_date(birth_digits)
    if born is None:
        return "ric.birth_date", f"{_birth_span(code)}出生日期“{birth_digits}”不是有效日期"
    if born < _EARLIEST_BIRTH:
        return "ric.birth_date", f"{_birth_span(code)}出生日期{born.isoformat()}早于1900年"
    if today is not None and born > today:
        return "ric.birth_date", f"{_birth_span(code)}出生日期{born.isoformat()}晚于今天（{today.isoformat()}）"
    if len(code) == 15:
        return None
    expected = ric_check_character(code[:17])
    if expected != code[17]:
        return "ric.check_character", f"第18位校验码应为{expected}，实为{code[17]}"
    return None


def check_id_number(text: str, *, today: date | None = None) -> CodeCheck:
    """Check a resident ID number: 18 characters (GB 11643), or the 15-digit pre-1999 form.

    The 15-digit form (region, YYMMDD birth date in the 1900s, sequence; no check character) is still seen on
    legacy records; it is accepted, and the explanation says it is the old form. The birth date must be a real
    date, not before 1900 and, when `today` is given, not after it.
    """
    code = normalize_code(text)
    return _result(text, code, "ric", id_number_reason(code, today=today))


_EXPLAINERS: Mapping[CodeKind, Callable[[str, str | None], Explanation]] = {
    "uscc": _uscc_explanation,
    "org": _org_explanation,
    "ric": _ric_explanation,
}


def _looks_like_id(code: str) -> bool:
    """18 characters shaped like a resident ID: 17 digits, digit-or-X, a province prefix, and positions 7–14
    shaped like a birth date (18xx/19xx/20xx, month 0x/1x, day 0x–3x) — shaped, not necessarily real, so that
    an ID with an impossible birth date (19900230, 19901301) or one before 1900 gets the ID's reason."""
    return (
        code[:17].isascii()
        and code[:17].isdigit()
        and (code[17] == "X" or (code[17].isascii() and code[17].isdigit()))
        and code[:2] in _PROVINCES
        and code[6:8] in ("18", "19", "20")
        and code[10] in "01"
        and code[12] in "0123"
    )


def check_code(text: str, *, today: date | None = None) -> CodeCheck:
    """Check a code whose kind is not stated, guessing the kind from its shape.

    - 18 characters: a valid resident ID wins; else a valid unified code; else, if it is shaped like an ID
      (17 digits + digit/X, province prefix, positions 7–14 shaped like a birth date, even an impossible one),
      the ID's reason; else the unified code's reason. The ID goes first because about 1 in 341 real ID
      numbers from regions such as 41 (河南) or 51 (四川) also pass every unified-code check — and an ID taken
      for a unified code would be shown unmasked, while a unified code taken for an ID is only masked.
    - 9 characters, or 8 + "-" + 1: organization code.
    - 15 digits: legacy resident ID.
    - anything else (empty included): judged as a unified code, so the reason names the expected length.
    """
    code = normalize_code(text)
    if len(code) == 18:
        ric = check_id_number(text, today=today)
        if ric.valid:
            return ric
        uscc = check_uscc(text)
        if uscc.valid or not _looks_like_id(code):
            return uscc
        return ric
    if len(code) == 9 or (len(code) == 10 and code[8] == "-"):
        return check_org_code(text)
    if len(code) == 15 and code.isascii() and code.isdigit():
        return check_id_number(text, today=today)
    return check_uscc(text)


def org_code_of(uscc: str) -> str:
    """The organization code embedded at positions 9–17 of a unified code; "" if it is not 18 characters."""
    code = normalize_code(uscc)
    return code[8:17] if len(code) == 18 else ""


def resolve_subject_code(code: str, known: Mapping[str, str]) -> str | None:
    """The unified code for a subject code: itself when it is a valid unified code; for a valid legacy
    organization code, the unified code the platform has seen embedding it (`known`: 9-character organization
    code without hyphen → unified code); None otherwise."""
    uscc = check_uscc(code)
    if uscc.valid:
        return uscc.code
    org = check_org_code(code)
    if org.valid:
        return known.get(org.code)
    return None


_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
_SERIES_LETTERS = re.compile(r"[A-Z]{1,2}")


def mask_id_number(number: str) -> str:
    """Public view of an ID number, same length: a resident ID number (and the residence permits of its form)
    keeps its first 6 characters, the region (STANDARD §6); any other document — passport, 通行证 — keeps only
    the letters of its series (E, H, …): its first 6 characters would be most of the holder's number."""
    code = normalize_code(number)
    if _RESIDENT_ID_SHAPE.fullmatch(code):
        return code[:6] + "*" * (len(code) - 6)
    series = _SERIES_LETTERS.match(code)
    shown = series.end() if series and series.end() < len(code) else 0
    return code[:shown] + "*" * (len(code) - shown)
