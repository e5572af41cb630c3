"""Text normalization shared by codes, document numbers and field values."""

from __future__ import annotations

import re
import unicodedata


def _runs(codes: tuple[int, ...]) -> list[tuple[int, int]]:
    """Sorted code points as (first, last) ranges."""
    runs: list[tuple[int, int]] = []
    for code in sorted(codes):
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return runs


# Full-width ASCII block (U+FF01..U+FF5E) maps onto ASCII by a fixed offset; U+3000 is the ideographic space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Characters that show nothing, so that 某公司 and 某\u2063公司 would be two names (and two decision ids) that
# read the same: every format character (Unicode category Cf: zero-width space and joiners, BOM, soft hyphen,
# direction marks, invisible operators, tags…) but the bidirectional embeddings, overrides and isolates (refused
# below: they reorder what is shown), the combining grapheme joiner, variation selectors, the Mongolian free
# variation selectors and the Hangul fillers. Every value drops them. (A unit test compares the Cf ranges with
# unicodedata.)
FORMAT_RANGES = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891),
    (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
_REORDERING = frozenset((*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_OTHER_INVISIBLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x180B, 0x180D), (0x3164, 0x3164), (0xFE00, 0xFE0F),
                    (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))  # fmt: skip
_INVISIBLE_CODES = tuple(
    code
    for first, last in (*FORMAT_RANGES, *_OTHER_INVISIBLE)
    for code in range(first, last + 1)
    if code not in _REORDERING
)
INVISIBLE = dict.fromkeys(_INVISIBLE_CODES)
# The same as a regular expression's character class body.
INVISIBLE_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in sorted(_runs(_INVISIBLE_CODES)))

# What no value may hold: control characters other than tab and line breaks (category Cc), lone surrogates
# (no character at all; UTF-8 cannot carry them) and the bidirectional embeddings, overrides and isolates,
# which make a name display as other text than it is.
UNACCEPTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters, punctuation and spaces to their half-width forms; CJK text untouched."""
    if text.isascii():  # nothing to map, and the test is far cheaper than a dict-driven translate
        return text
    return text.translate(_FULLWIDTH)


def without_invisible(text: str) -> str:
    return text if text.isascii() else text.translate(INVISIBLE)


def unacceptable_characters(text: str) -> list[str]:
    """The characters of `text` no value may hold (see UNACCEPTABLE), as `U+XXXX` names, each once."""
    return list(dict.fromkeys(f"U+{ord(ch):04X}" for ch in UNACCEPTABLE.findall(text)))


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """`text` with each lone surrogate (JSON can spell one: "\\ud800") as U+FFFD: no file, JSON response or Avro
    string can carry it, so text that quotes input back (problems, error reports) must not."""
    return text if text.isascii() or _SURROGATE.search(text) is None else _SURROGATE.sub("\ufffd", text)


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit of another script (Arabic-Indic ٢, Devanagari २, mathematical 𝟐…) as its
    ASCII digit."""
    if text.isascii() or not any(ch.isdecimal() and not ch.isascii() for ch in text):
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)
