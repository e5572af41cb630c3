"""Text normalization shared by codes, document numbers and field values."""

from __future__ import annotations

import re

# Full-width ASCII block (U+FF01..U+FF5E) maps onto ASCII by a fixed offset; U+3000 is the ideographic space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# Characters that show nothing: zero-width space/non-joiner/joiner, word joiner, BOM, soft hyphen and the
# left-to-right/right-to-left marks. Pasted from web pages and chat, they make 某公司 and 某\u200b公司 two names
# (and two decision ids) that read the same, so every value drops them.
INVISIBLE_CHARACTERS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f"
INVISIBLE = str.maketrans(dict.fromkeys(INVISIBLE_CHARACTERS))

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
