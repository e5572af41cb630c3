"""Personal numbers written into text however they were split: resident ID numbers, bank card numbers, mobiles.

Clerks (and anyone hiding a number from a simple pattern) write 411502 1995 0808 1269, 411502－19950808－1269,
411502\u00a019950808\u00a01269, ４１１５０２．…, 𝟒𝟏𝟏𝟓𝟎𝟐…, 四一一五〇二… or glue the number to other digits. Here a
*chain* is a run of digits (of any script, circled ones and Chinese numerals — 一三八…, 壹叁捌… — too) where up to
eight characters that are neither letters nor other CJK characters (spaces of every kind, punctuation, symbols)
may stand between two digits. In a chain, consecutive groups of digits are
- a resident ID number when they hold 15 or 18 characters that are a valid ID number (region, birth date,
  check character) in groups of three or more digits, or split region | year | month | day | rest;
- a bank card when they hold 16–19 digits starting 2–6, 8 or 9 split as cards are printed (fours, 6 + the
  rest, 4-6-5), one separator throughout;
- a mobile number when they hold 11 digits starting 13–19 (or 86 / 0086 and those, glued) in at most three
  groups of at least three, one separator throughout;
- a mobile or an 18-character ID number too when spaced out one to three digits at a time with the same single
  space between all of them (1 3 8 1 2 3 4 5 6 7 8), five groups or more and not within a longer such run;
- and a single group of 15 or more digits is personal whatever it is (a number glued to a year or an amount).
HTML spaces (&nbsp;, &#160;…) separate groups as spaces do.
The longest reading from each group wins (an ID from 13… is not a mobile). Other chains — article lists
(第12、13、14条), dates, amounts, telephone numbers with area codes — are none of these.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sgs.core.codes import id_number_reason

Kind = Literal["id", "card", "mobile", "digits"]

# Chinese numerals written as digits, one character each (四一一五〇二…, 壹叁捌…): not decimal digits to Unicode.
_CHINESE_DIGITS = {
    ch: str(value)
    # ○ is the zero most input methods offer; 幺 is how a 1 is read out in telephone numbers.
    for value, chars in enumerate(("〇零○", "一壹幺", "二贰", "三叁", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖"))
    for ch in chars
}
# Decimal digits of every script (\d is Unicode-aware), the circled, parenthesized, super- and subscript ones, and
# Chinese numerals.
_D = (
    f"[\\d{''.join(_CHINESE_DIGITS)}\u2460-\u2468\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792"
    "\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]"
)
_X = "[XxＸｘ]"
# Spaces written as HTML (a text copied out of a web page keeps them): separators, their digits no number's.
_HTML_SPACE = "&(?:nbsp|ensp|emsp|thinsp|#160|#[xX][aA]0|#32|#[xX]20);"
_HTML_SPACES = re.compile(f"({_HTML_SPACE})")  # a group: split() keeps them between the other parts
_SEP = f"(?:{_HTML_SPACE}|[^\\w]|_)"  # neither a letter, a CJK character nor a digit
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
    if ch in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[ch]
    value = unicodedata.digit(ch, None)
    return str(value) if value is not None else "?"


# No one with an ID number is born after this (a date list read as an ID must not pass as a person born in 2403).
_LATEST_BIRTH = date(2099, 12, 31)
# How an ID number is split when not into groups of three or more: region, year, month, day, the rest.
_ID_BY_DATE = ((6, 4, 2, 2, 4), (6, 4, 2, 2, 3, 1))
_TARGETS = frozenset({11, 13, 15, 16, 17, 18, 19})  # digit counts some reading may have
_LONGEST_CHAIN = 200  # groups
# How card numbers are printed and typed: fours (the last group shorter), 6 + the rest, and Amex's 4-6-5.
_CARD_SHAPES = frozenset(
    {(4, 4, 4, 4), (4, 4, 4, 4, 1), (4, 4, 4, 4, 2), (4, 4, 4, 4, 3), (6, 10), (6, 11), (6, 12), (6, 13), (4, 6, 5)}
)


_LISTED = "、"


def is_year_list(groups: list[str]) -> bool:
    """Whether every group is a year (2022 2023 2024 2025): a list of years, not a card split in fours."""
    return all(len(g) == 4 and g[:2] in ("19", "20") for g in groups)


def _reading(groups: list[str], separators: list[str], spaced: bool) -> tuple[Kind, int] | None:
    """What consecutive groups of digits are together, if personal. `separators`: the text between them;
    `spaced`: the groups are a whole run of digits typed one to three at a time with one space between them.

    The shapes are what keeps two numbers side by side from reading as one: an ID number's groups have three
    or more digits (or are region, year, month, day, rest), so timestamps and date lists (14:30:00—2024-03-05)
    are not one; a card's or mobile's groups are split alike, one separator throughout, so two telephone numbers
    (0376-6221234，0376-6221235) or a range of amounts (130.0000-1500.0000) are not one either."""
    if any(_LISTED in separator for separator in separators):
        return None  # 、 lists numbers (二〇二一、二〇二二…, 一一九、一一〇…); nobody writes one number with it
    digits = "".join(groups)
    count, sizes = len(digits), tuple(len(g) for g in groups)
    sized = min(sizes) >= 3
    # Spaced-out digits only as an 18-character ID, whose check character a run of counting numbers fails.
    split_as_id = sized or sizes in _ID_BY_DATE or (spaced and count == 18)
    shaped = count in (15, 18) and split_as_id and (count == 18 or digits.isdigit())
    if shaped and id_number_reason(digits, today=_LATEST_BIRTH) is None:
        return "id", 6
    if not digits.isdigit():
        return None
    alike = len(set(separators)) <= 1
    if 16 <= count <= 19 and alike and sizes in _CARD_SHAPES and digits[0] in "2345689" and not is_year_list(groups):
        return "card", 6
    mobile = digits[-11:]
    # (138)1234-5678: the network's digits in brackets, then one separator.
    bracketed = bool(separators) and separators[0].strip()[:1] in (")", "）") and len(set(separators[1:])) <= 1
    if mobile[0] == "1" and mobile[1] in "3456789" and (alike or bracketed) and (len(groups) <= 3 or spaced):
        prefix = digits[:-11]
        # 138 1234 5678, 13812345678, 1 3 8 1 2 3 4 5 6 7 8, and +86 / 0086 glued on (86138…, 0086138…).
        if prefix in ("", "86", "0086") and (sized or spaced or len(groups) == 1) and (not prefix or len(groups) == 1):
            return "mobile", len(prefix) + 3
    if count >= 15 and len(groups) == 1:
        return "digits", 6
    return None


def may_hold_personal_numbers(text: str) -> bool:
    """False for most texts, cheaply: fewer than eleven digits in all."""
    return len(_ANY_DIGIT.findall(text)) >= 11


def personal_numbers(text: str) -> list[Found]:
    """Every personal number in `text` (see the module doc), in order, none overlapping."""
    return _found_in(text) if may_hold_personal_numbers(text) else []


def _found_in(text: str) -> list[Found]:
    found: list[Found] = []
    for chain in _CHAIN.finditer(text):
        body = chain[0]
        if len(_GROUP.findall(body)) > _LONGEST_CHAIN:
            # Hundreds of numbers with nothing but punctuation between them is a pasted table, not prose: masked
            # whole, which costs nothing, rather than read group by group, which an adversary could make slow.
            found.append(Found(chain.start(), chain.end(), "digits", 6))
        else:
            found.extend(_in_chain(body, chain.start()))
    return found


def _in_chain(body: str, offset: int) -> list[Found]:
    """The personal numbers of one chain: from each group, the longest reading of it and the groups after."""
    scanned = _HTML_SPACES.sub(lambda space: " " * len(space[0]), body)
    groups = [(m.start(), m.end(), "".join(_digit(ch) for ch in m[0])) for m in _GROUP.finditer(scanned)]
    digits = [g[2] for g in groups]
    separators = [body[a[1] : b[0]] for a, b in itertools.pairwise(groups)]
    found: list[Found] = []
    first = 0
    while first < len(groups):
        best = _longest_reading(digits, separators, first)
        if best is None:
            first += 1
            continue
        last, kind, shown = best
        found.append(Found(offset + groups[first][0], offset + groups[last][1], kind, shown))
        first = last + 1
    return found


def _longest_reading(digits: list[str], separators: list[str], first: int) -> tuple[int, Kind, int] | None:
    """(last group, kind, digits shown) of the longest reading starting at group `first`, if any."""
    best: tuple[int, Kind, int] | None = None
    count = 0
    # Digits spaced out to hide a number (1 3 8 1 2 3 4 5 6 7 8, 13 81 23 45 678): one to three at a time, the
    # same single space (of any kind) between them all, five groups or more, and nothing spaced alike around
    # them — a list of small numbers is not read from its middle.
    spacing = separators[first] if first < len(separators) else ""
    spaced = len(spacing) == 1 and spacing.isspace() and len(digits[first]) <= 3
    for last in range(first, len(digits)):
        size = len(digits[last])
        if last > first:
            spaced = spaced and size <= 3 and separators[last - 1] == spacing
        # Groups under three digits belong to no reading but the month and day of _ID_BY_DATE and spaced-out
        # digits: the loop stops there otherwise (runs of "1-1-1-…" cost nothing).
        date_part = size == 2 and last - first in (2, 3) and len(digits[first]) == 6
        if size < 3 and last > first and not date_part and not spaced:
            break
        count += size
        if count in _TARGETS or (last == first and count >= 15):  # only then can a reading hold
            reading = _reading(
                digits[first : last + 1], separators[first:last], spaced and _alone(separators, first, last)
            )
            if reading is not None:
                best = (last, *reading)
        if count >= 19:
            break
    return best


def _alone(separators: list[str], first: int, last: int) -> bool:
    """Whether groups first…last (four or more: 13 812 345 678) are not part of a longer run spaced alike."""
    spacing = separators[first]
    before = first == 0 or separators[first - 1] != spacing
    after = last == len(separators) or separators[last] != spacing
    return last - first >= 3 and before and after


def masked(text: str, shown: int) -> str:
    """`text` with every digit (and check character X) after the first `shown` digits as *; HTML spaces kept."""
    out: list[str] = []
    for index, part in enumerate(_HTML_SPACES.split(text) if "&" in text else [text]):
        if index % 2:
            out.append(part)
            continue
        shown = _mask_digits(part, shown, out)
    return "".join(out)


def _mask_digits(text: str, shown: int, out: list[str]) -> int:
    for ch in text:
        if ch in "XxＸｘ" or ch in _CHINESE_DIGITS or unicodedata.digit(ch, None) is not None:
            out.append(ch if shown > 0 else "*")
            shown -= 1
        else:
            out.append(ch)
    return shown


def mask_found(text: str) -> str:
    """`text` with the personal numbers `personal_numbers` finds masked; for a text `may_hold_personal_numbers`
    said yes to (the caller asked it already)."""
    found = _found_in(text)
    if not found:
        return text
    out, done = [], 0
    for item in found:
        out.append(text[done : item.start] + masked(text[item.start : item.end], item.shown))
        done = item.end
    return "".join(out) + text[done:]
