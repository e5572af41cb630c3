"""Document numbers (文号) and the decision id built from them.

The same decision arrives as 信环罚〔2024〕12号, 信环罚[2024]12号 or 信环罚（２０２４）１２号 depending on the
clerk's input method; the normalized form makes them one decision id. The original text is kept for display
by the caller — only the id uses the normalized form.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from sgs.core.codes import check_uscc, normalize_code
from sgs.core.text import INVISIBLE, INVISIBLE_CLASS, UNACCEPTABLE, ascii_digits, to_halfwidth

DecisionKind = Literal["licence", "penalty"]
# A 文号 is a line of a document header (real ones are under 40 characters); it becomes part of the decision
# id, which Elasticsearch keeps as a document id of at most 512 bytes.
MAX_DOCUMENT_NUMBER = 100

# Brackets seen around the year in real 文号 (after full-width → half-width, so （）［］｛｝ arrive as ()[]{}):
# 〔〕 the official form, [] () 【】, the look-alikes 〖〗 ﹝﹞ 〘〙 that input methods offer next to 〔〕, {}, and the
# quotation and angle brackets 〈〉 <> 《》 「」 『』 ⦅⦆ ❨❩ ⟮⟯ that read alike around a year.
# Only a pair enclosing exactly four digits is rewritten, so brackets elsewhere in the number (e.g. 豫(信)) stay,
# and an unmatched pair such as (2024] is treated as the typo it is.
_OPEN = "〔[(【〖﹝〘{〈<《「『⦅❨⟮"
_CLOSE = "〕])】〗﹞〙}〉>》」』⦆❩⟯"
_YEAR_IN_BRACKETS = re.compile(f"[{re.escape(_OPEN)}]([0-9]{{4}})[{re.escape(_CLOSE)}]")
# Any character the normalization below would change: full-width forms and the ideographic space, zero-width
# characters, whitespace (\s is str.isspace, what split() drops), and brackets other than 〔〕. Most numbers
# are typed with 〔〕 and contain none of them; one search then replaces three translations and a substitution.
_NOT_CANONICAL = re.compile(f"[\uff01-\uff5e\u3000{INVISIBLE_CLASS}\\s{re.escape(_OPEN[1:] + _CLOSE[1:])}]")


def _official_year(match: re.Match[str]) -> str:
    # A function, not the template "〔\1〕": re expands a template through Python code on every match.
    return f"〔{match[1]}〕"


def normalize_document_number(text: str) -> str:
    """Half-width digits and letters, no whitespace, and 〔YYYY〕 whatever brackets held the year. Compatibility
    forms are folded first (NFKC): ﹙2026﹚ and 𝟐𝟎𝟐𝟔 read as (2026) and 2026, and must not make a second decision."""
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = ascii_digits(text)  # ٢٠٢٦ and other scripts' digits, which NFKC keeps
    if _NOT_CANONICAL.search(text) is None:
        return text
    compact = "".join(to_halfwidth(text).translate(INVISIBLE).split())
    return _YEAR_IN_BRACKETS.sub(_official_year, compact)


def decision_id(kind: DecisionKind, authority_code: str, document_number: str) -> str:
    """`<kind>:<issuing authority's unified code>:<normalized 文号>`, e.g. `penalty:11411502…:信环罚〔2024〕12号`.

    Colons separate the parts: the kind never holds one and a valid unified code cannot, so the first two
    colons split the id even when the 文号 itself contains a colon (split with maxsplit=2).
    """
    return f"{kind}:{normalize_code(authority_code)}:{normalize_document_number(document_number)}"


def canonical_decision_id(text: object) -> str | None:
    """The decision id `text` names, in the one form decisions are keyed by (the code and the 文号 normalized as
    above), or None when `text` names no decision: not `<licence|penalty>:<valid unified code>:<文号>`.

    An id whose 文号 no upsert could carry (over MAX_DOCUMENT_NUMBER characters, control characters) names none.
    A revoke or a status request may spell the id as the clerk typed the 文号 (信环罚[2024]12号, a lower-case
    code); only the canonical form finds the decision, so every surface turns what it is given into this first.
    """
    if not isinstance(text, str):
        return None
    parts = text.split(":", 2)
    if len(parts) != 3 or parts[0] not in ("licence", "penalty"):
        return None
    kind: DecisionKind = "licence" if parts[0] == "licence" else "penalty"
    code, number = normalize_code(parts[1]), normalize_document_number(parts[2])
    if not check_uscc(code).valid or not number or len(number) > MAX_DOCUMENT_NUMBER:
        return None
    if UNACCEPTABLE.search(number) is not None:  # a control character or an override: no 文号 passes its check
        return None
    return decision_id(kind, code, number)
