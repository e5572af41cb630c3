"""Personal numbers written into text however they were split: resident ID numbers, bank card numbers, mobiles.

Clerks (and anyone hiding a number from a simple pattern) write 411502 1995 0808 1269, 411502－19950808－1269,
411502\u00a019950808\u00a01269, ４１１５０２．…, 𝟒𝟏𝟏𝟓𝟎𝟐… or glue the number to other digits. Here a *chain* is a
run of digits (of any script, circled ones too) where up to eight characters that are neither letters nor CJK
(spaces of every kind, punctuation, symbols) may stand between two digits. In a chain, consecutive groups of
digits are
- a resident ID number when they hold 15 or 18 characters with an ID's region and birth date (a mistyped check
  character is still someone's number);
- a bank card when they hold 16–19 digits starting 3–6 (UnionPay 62…, Visa, Mastercard, JCB) in at most five
  groups of at least three;
- a mobile number when they hold 11 digits starting 13–19 in at most three groups of at least three;
- and a single group of 15 or more digits is personal whatever it is (a number glued to a year or an amount).
The longest reading from each group wins (an ID from 13… is not a mobile). Other chains — article lists
(第12、13、14条), dates, amounts, telephone numbers with area codes — are none of these.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from sgs.core.codes import id_number_reason

Kind = Literal["id", "card", "mobile", "digits"]

# Decimal digits of every script (\d is Unicode-aware), and the circled, parenthesized, super- and subscript ones.
_D = (
    "[\\d\u2460-\u2468\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792"
    "\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]"
)
_X = "[XxＸｘ]"
_SEP = "(?:[^\\w]|_)"  # neither a letter, a CJK character nor a digit
_GAP = 8
# A chain starts where digits start; the lookahead passes only chains of eleven digits or more, so the dates,
# amounts and article numbers most texts hold never reach the Python below.
_CHAIN = re.compile(
    f"(?<!{_D})(?=(?:{_D}{_SEP}{{0,{_GAP}}}){{10}}{_D}){_D}+(?:{_SEP}{{1,{_GAP}}}{_D}+)*(?:{_X}(?![A-Za-z0-9]))?"
)
_GROUP = re.compile(f"{_D}+{_X}?")
_ANY_DIGIT = re.compile(_D)


@dataclass(frozen=True, slots=True)
class Found:
    start: int
    end: int
    kind: Kind
    shown: int  # leading digits that may stay visible (an ID's region, a mobile's network, a card's issuer)


def _digit(ch: str) -> str:
    if ch in "XxＸｘ":
        return "X"
    value = unicodedata.digit(ch, None)
    return str(value) if value is not None else "?"


def _is_id(digits: str) -> bool:
    if len(digits) == 15 and not digits.isdigit():
        return False
    reason = id_number_reason(digits)
    return reason is None or reason[0] == "ric.check_character"


def _reading(groups: list[str]) -> tuple[Kind, int] | None:
    """What consecutive groups of digits are together, if personal."""
    digits = "".join(groups)
    count, sized = len(digits), all(len(g) >= 3 for g in groups)
    if count in (15, 18) and _is_id(digits):
        return "id", 6
    if not digits.isdigit():
        return None
    if 16 <= count <= 19 and sized and len(groups) <= 5 and digits[0] in "3456":
        return "card", 6
    if count == 11 and digits[0] == "1" and digits[1] in "3456789" and sized and len(groups) <= 3:
        return "mobile", 3
    if count >= 15 and len(groups) == 1:
        return "digits", 6
    return None


def may_hold_personal_numbers(text: str) -> bool:
    """False for most texts, cheaply: fewer than eleven digits in all."""
    if text.isascii():
        return sum(ch.isdigit() for ch in text) >= 11 if len(text) < 64 else len(_ANY_DIGIT.findall(text)) >= 11
    return len(_ANY_DIGIT.findall(text)) >= 11


def personal_numbers(text: str) -> list[Found]:
    """Every personal number in `text` (see the module doc), in order, none overlapping."""
    if not may_hold_personal_numbers(text):
        return []
    found: list[Found] = []
    for chain in _CHAIN.finditer(text):
        groups = [(m.start(), m.end(), "".join(_digit(ch) for ch in m[0])) for m in _GROUP.finditer(chain[0])]
        first = 0
        while first < len(groups):
            best: tuple[int, Kind, int] | None = None
            for last in range(first, len(groups)):
                reading = _reading([g[2] for g in groups[first : last + 1]])
                if reading is not None:
                    best = (last, *reading)
                if sum(len(g[2]) for g in groups[first : last + 1]) >= 19 and last > first:
                    break
            if best is None:
                first += 1
                continue
            last, kind, shown = best
            found.append(Found(chain.start() + groups[first][0], chain.start() + groups[last][1], kind, shown))
            first = last + 1
    return found


def masked(text: str, shown: int) -> str:
    """`text` with every digit (and check character X) after the first `shown` digits as *."""
    out: list[str] = []
    for ch in text:
        if ch in "XxＸｘ" or unicodedata.digit(ch, None) is not None:
            out.append(ch if shown > 0 else "*")
            shown -= 1
        else:
            out.append(ch)
    return "".join(out)


def mask_found(text: str) -> str:
    """`text` with the personal numbers `personal_numbers` finds masked."""
    found = personal_numbers(text)
    if not found:
        return text
    out, done = [], 0
    for item in found:
        out.append(text[done : item.start] + masked(text[item.start : item.end], item.shown))
        done = item.end
    return "".join(out) + text[done:]
