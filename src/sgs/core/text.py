"""Text normalization shared by codes, document numbers and field values."""

from __future__ import annotations

import unicodedata

# Full-width ASCII block (U+FF01..U+FF5E) maps onto ASCII by a fixed offset; U+3000 is the ideographic space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters, punctuation and spaces to their half-width forms; CJK text untouched."""
    if text.isascii():  # nothing to map, and the test is far cheaper than a dict-driven translate
        return text
    return text.translate(_FULLWIDTH)


def control_characters(text: str) -> list[str]:
    """The control characters in `text` other than tab and newline, as `U+XXXX` names."""
    return [f"U+{ord(ch):04X}" for ch in text if ch not in "\t\n\r" and unicodedata.category(ch) == "Cc"]
