"""Public search, pure: what a query string may ask, the Elasticsearch request it becomes, what a hit shows.

Nothing the public types is ever read as query syntax: free text goes into phrase matches (the standard
analyzer splits Chinese into characters, so a phrase finds names and facts in order), codes and document
numbers into exact terms after the platform's own normalization — so any bracket variant of a 文号 finds it.
A query that is exactly a valid unified code or exactly a 文号 (a year in brackets, ending in 号) becomes only
those exact terms: the phrase over ten text fields (which do not include the 文号 itself) was half of
Elasticsearch's CPU on such a query and could only add decisions that quote the number in their text.
Every search carries the public filter (withdrawn decisions never appear) and reads only the public indices,
which hold only the masked public view.

Totals are exact up to MAX_WINDOW, the last result a page can reach; past it Elasticsearch stops counting
(`total_relation` "gte"), which made a broad keyword such as 罚款 four times cheaper. Matches are highlighted
here (`highlight`), not by Elasticsearch: its highlighter re-analyzed six fields of every hit, over a quarter of
its CPU on a name query, while finding the phrase again in twenty hits' values takes a fraction of a millisecond.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sgs.connectors.search_indices import IndexNames, public_query_filter
from sgs.core.codes import check_uscc, normalize_code
from sgs.core.docnum import normalize_document_number
from sgs.core.fields import KINDS, fields_of

MAX_QUERY_CHARS = 200
MAX_PAGE_SIZE = 50
MAX_WINDOW = 10_000  # Elasticsearch's default max_result_window: from + size beyond it is refused
TEXT_FIELDS = (
    "subject_name^3",
    "authority_name^2",
    "legal_representative",
    "facts",
    "illegal_act_type",
    "penalty_content",
    "content",
    "document_name",
    "licence_certificate_name",
    "source_department",
)
HIGHLIGHTED = ("subject_name", "facts", "penalty_content", "content", "illegal_act_type", "authority_name")
Sort = Literal["relevance", "newest", "oldest"]
FILTERS = (
    "q",
    "code",
    "document_number",
    "kind",
    "department",
    "category",
    "date_from",
    "date_to",
    "sort",
    "page",
    "size",
)
PENALTY_CATEGORIES: tuple[str, ...] = next(
    f.enum.values for f in fields_of("penalty") if f.name == "penalty_categories" and f.enum is not None
)


class SearchError(ValueError):
    """A request the public search refuses, with the reason in Chinese."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    code: str = ""
    document_number: str = ""
    kind: str = ""
    department: str = ""
    category: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: Sort = "relevance"
    page: int = 1
    size: int = 20

    @property
    def empty(self) -> bool:
        """Nothing asked (the front page as first opened): no search. Any filter alone is a search (all
        penalties of 2026, one department's decisions), newest first unless sorted otherwise."""
        filters = (self.q, self.code, self.document_number, self.kind, self.department, self.category)
        return not any(filters) and self.date_from is None and self.date_to is None

    def as_query(self) -> dict[str, str]:
        """The non-default parameters, for links to other pages of the same search."""
        defaults = SearchParams()
        values = {name: getattr(self, name) for name in FILTERS}
        return {k: str(v) for k, v in values.items() if v != getattr(defaults, k) and v not in (None, "")}


# ASCII only: str.isdigit() and int() also take ² ① ٣ １, which either crashed int() or slipped through.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_INT_DIGITS = 9  # far past the last page (MAX_WINDOW); int() of thousands of digits is slow, then refused
_INT = re.compile(f"-?[0-9]{{1,{MAX_INT_DIGITS}}}")


def _date(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):  # fromisoformat also takes 20250101 and 2025-W01-1
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise SearchError(name, f"日期应为 YYYY-MM-DD：{value[:40]}") from None


def _int(name: str, value: str, default: int) -> int:
    """A whole number in ASCII digits, perhaps negative (the caller's range check then refuses it)."""
    if not value:
        return default
    if not _INT.fullmatch(value):
        raise SearchError(name, f"{name} 应为不超过 {MAX_INT_DIGITS} 位的整数：{value[:40]}")
    return int(value)


def parse(query: dict[str, str]) -> SearchParams:
    """Query-string parameters → SearchParams; unknown parameters and impossible values are refused."""
    unknown = sorted(set(query) - set(FILTERS))
    if unknown:
        raise SearchError(
            unknown[0], f"不支持的参数：{'、'.join(u[:40] for u in unknown)}（可用：{'、'.join(FILTERS)}）"
        )
    text = {name: query.get(name, "").strip() for name in FILTERS}
    for name in ("q", "code", "document_number", "department", "category"):
        if len(text[name]) > MAX_QUERY_CHARS:
            raise SearchError(name, f"查询内容过长（最多 {MAX_QUERY_CHARS} 个字符）")
    if text["kind"] not in ("", *KINDS):
        raise SearchError("kind", "类型应为 licence（行政许可）或 penalty（行政处罚）")
    if text["category"] and text["category"] not in PENALTY_CATEGORIES:
        raise SearchError("category", f"未知的处罚类别：{text['category']}")
    if text["sort"] not in ("", "relevance", "newest", "oldest"):
        raise SearchError("sort", "排序应为 relevance、newest 或 oldest")
    page, size = _int("page", text["page"], 1), _int("size", text["size"], 20)
    if page < 1:
        raise SearchError("page", "页码从 1 开始")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise SearchError("size", f"每页条数应在 1 到 {MAX_PAGE_SIZE} 之间")
    date_from, date_to = _date("date_from", text["date_from"]), _date("date_to", text["date_to"])
    if date_from and date_to and date_from > date_to:
        raise SearchError("date_from", "起始日期晚于截止日期")
    code = normalize_code(text["code"]) if text["code"] else ""
    department = normalize_code(text["department"]) if text["department"] else ""
    sort: Sort = "newest" if text["sort"] == "newest" else "oldest" if text["sort"] == "oldest" else "relevance"
    return SearchParams(
        q=text["q"],
        code=code,
        document_number=text["document_number"],
        kind=text["kind"],
        department=department,
        category=text["category"],
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=page,
        size=size,
    )


def indices(names: IndexNames, params: SearchParams) -> str:
    kinds = (params.kind,) if params.kind else KINDS
    return ",".join(names.public_alias(kind) for kind in kinds)


# A whole 文号 after normalization: the issuer's abbreviation, the year in 〔〕, the serial, 号 (信环罚〔2024〕12号).
_DOCUMENT_NUMBER = re.compile(r"[^\s〔〕]+〔[0-9]{4}〕[^\s〔〕]*[0-9][^\s〔〕]*号")


def _text_clauses(text: str) -> list[dict[str, Any]]:
    code = normalize_code(text)
    number = normalize_document_number(text)
    exact: list[dict[str, Any]] = []
    if check_uscc(code).valid:
        exact.append({"term": {"subject_code": {"value": code, "boost": 10}}})
    if _DOCUMENT_NUMBER.fullmatch(number):
        exact.append({"term": {"document_number_normalized": {"value": number, "boost": 10}}})
    if exact:  # exactly a code or a 文号: the decisions that carry it (see the module's docstring)
        return exact
    clauses: list[dict[str, Any]] = [{"multi_match": {"query": text, "type": "phrase", "fields": list(TEXT_FIELDS)}}]
    if number:  # a number in a form without a bracketed year still finds its decision exactly
        clauses.append({"term": {"document_number_normalized": {"value": number, "boost": 10}}})
    return clauses


def build(params: SearchParams) -> dict[str, Any]:
    """The body of the Elasticsearch search for `params` (always with the public filter)."""
    filters: list[dict[str, Any]] = [public_query_filter()]
    if params.code:
        filters.append({"term": {"subject_code": params.code}})
    if params.document_number:
        filters.append({"term": {"document_number_normalized": normalize_document_number(params.document_number)}})
    if params.department:
        filters.append({"term": {"source_department_code": params.department}})
    if params.category:
        filters.append({"term": {"penalty_categories": params.category}})
    if params.date_from or params.date_to:
        span = {"gte": params.date_from.isoformat()} if params.date_from else {}
        span |= {"lte": params.date_to.isoformat()} if params.date_to else {}
        filters.append({"range": {"decision_date": span}})
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if params.q:
        query["bool"]["should"] = _text_clauses(params.q)
        query["bool"]["minimum_should_match"] = 1
    start = (params.page - 1) * params.size
    body: dict[str, Any] = {
        "query": query,
        "from": min(start, MAX_WINDOW - params.size),
        "size": params.size if start + params.size <= MAX_WINDOW else 0,
        "track_total_hits": MAX_WINDOW,  # exact up to the last result a page can show; "gte" past it
    }
    if params.sort == "newest" or (params.sort == "relevance" and not params.q):  # no words: nothing to rank by
        body["sort"] = [{"decision_date": "desc"}, {"decision_id": "asc"}]
    elif params.sort == "oldest":
        body["sort"] = [{"decision_date": "asc"}, {"decision_id": "asc"}]
    return body


PLATFORM_FIELDS = ("decision_id", "kind", "published_at")
MARK_START, MARK_END = "\ue000", "\ue001"


def highlight_html(fragment: str) -> str:
    """A highlight fragment as safe HTML: the text escaped, the matches in <mark>."""
    escaped = html.escape(fragment, quote=True)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


@functools.cache
def _shown(kind: str) -> tuple[str, ...]:
    """The fields a result of `kind` may show, in the order the API gives them. Defence in depth: the public
    documents hold no never-public field, and none is shown even if one did."""
    public = sorted(f.name for f in fields_of(kind) if f.publicity != "never") if kind in KINDS else []
    return (*PLATFORM_FIELDS, *public)


def hit_view(hit: dict[str, Any], query: str = "") -> dict[str, Any]:
    """One result as the public sees it: the public document's fields (already masked) and where the free-text
    `query` occurs in them, as escaped HTML fragments."""
    source = hit["_source"]
    view = {name: source[name] for name in _shown(source.get("kind", "")) if source.get(name) not in (None, "")}
    found = highlight(query, view) if query else {}
    view["highlight"] = {name: [highlight_html(text) for text in fragments] for name, fragments in found.items()}
    return view


# --- Highlighting ------------------------------------------------------------------------------------------
# The standard analyzer (Unicode word boundaries, UAX #29, then lowercase), as far as these texts need it: every
# ideograph and hiragana is a token of its own; letters and digits run together into one token (A12 is one,
# 2024年 is 2024 and 年), joined across ' . : between letters and ' . , ; between digits (a.b, 1.5, 1,000) and
# across underscores; everything else (whitespace, punctuation, brackets, symbols) separates and is dropped.
_IDEOGRAPHIC = "\u3007\u3021-\u3029\u3038-\u303b\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IDEOGRAPHIC += "\U00020000-\U0003ffff"
_KATAKANA = "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # runs of katakana are one token
_LETTER = f"[^\\W\\d_{_IDEOGRAPHIC}{_KATAKANA}]"
_ALNUM = f"[^\\W_{_IDEOGRAPHIC}{_KATAKANA}]"
_MID_LETTER = re.escape(":'.\u00b7\u0387\u05f4\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a")
_MID_DIGIT = re.escape(",;'.\u037e\u2018\u2019\u2024\u2044\ufe10\ufe14\ufe50\ufe52\ufe54\uff07\uff0c\uff0e\uff1b")
_TOKEN = re.compile(
    f"[{_IDEOGRAPHIC}]|[{_KATAKANA}]+"
    f"|_*{_ALNUM}(?:{_ALNUM}|_|(?<={_LETTER})[{_MID_LETTER}](?={_LETTER})|(?<=\\d)[{_MID_DIGIT}](?=\\d))*"
)
FRAGMENT_CHARS = 80  # about; a fragment is longer only when the match itself is
FRAGMENTS = 2  # per field
_LEAD = 20  # characters shown before a match that is far into a long sentence
_SENTENCE_ENDS = "。！？；!?;\n"
_CLAUSE_ENDS = _SENTENCE_ENDS + "，,、：: "


@functools.lru_cache(maxsize=1024)
def _words(text: str) -> tuple[str, ...]:
    """The tokens the standard analyzer makes of `text`, lowercased."""
    return tuple(token.lower() for token in _TOKEN.findall(text))


def _occurrences(value: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the phrase `words` in `value`, in order, not overlapping."""
    tokens = list(_TOKEN.finditer(value))
    lowered = [token[0].lower() for token in tokens]
    spans: list[tuple[int, int]] = []
    first, n, at = words[0], len(words), 0
    while True:
        try:
            at = lowered.index(first, at)
        except ValueError:
            return spans
        if tuple(lowered[at : at + n]) == words:
            spans.append((tokens[at].start(), tokens[at + n - 1].end()))
            at += n
        else:
            at += 1


def _marked(value: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    """value[start:end] with the spans (all inside it) between marks; mark characters in the value are dropped."""
    parts, at = [], start
    for span_start, span_end in spans:
        parts += [_unmarked(value[at:span_start]), MARK_START, _unmarked(value[span_start:span_end]), MARK_END]
        at = span_end
    parts.append(_unmarked(value[at:end]))
    return "".join(parts)


def _unmarked(text: str) -> str:
    return text.replace(MARK_START, "").replace(MARK_END, "") if MARK_START in text or MARK_END in text else text


def _fragments(value: str, spans: list[tuple[int, int]]) -> list[str]:
    """At most FRAGMENTS pieces of `value` around its matches, in order: the whole value when it is short, else
    about FRAGMENT_CHARS from the start of the match's sentence (or the start of a clause shortly before the
    match), ending after a clause."""
    if len(value) <= FRAGMENT_CHARS:
        return [_marked(value, spans, 0, len(value))]
    fragments: list[str] = []
    i, previous_end = 0, 0
    while i < len(spans) and len(fragments) < FRAGMENTS:
        first_start, first_end = spans[i]
        width = max(FRAGMENT_CHARS, first_end - first_start)
        sentence = max(value.rfind(mark, 0, first_start) for mark in _SENTENCE_ENDS) + 1
        start = sentence if sentence >= first_end - width else max(first_start - _LEAD, first_end - width)
        start = max(previous_end, min(start, len(value) - width))  # near the end of the value: more before
        if start > 0 and value[start - 1] not in _CLAUSE_ENDS:
            starts = [at for mark in _CLAUSE_ENDS if (at := value.find(mark, start, first_start)) >= 0]
            start = min(starts) + 1 if starts else start
        end = min(len(value), start + width)
        inside = [spans[i]]
        for span in spans[i + 1 :]:
            if span[1] > end:
                end = min(end, span[0])  # a match the end would cut: the fragment stops before it
                break
            inside.append(span)
        if end < len(value) and value[end] in _CLAUSE_ENDS:  # (no match starts with one)
            end += 1
        elif end < len(value):
            ends = [at for mark in _CLAUSE_ENDS if (at := value.rfind(mark, inside[-1][1], end)) >= 0]
            end = max(ends) + 1 if ends else end
        fragments.append(_marked(value, inside, start, end))
        i += len(inside)
        previous_end = end
    return fragments


def highlight(query: str, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Where the phrase `query` occurs in the HIGHLIGHTED fields of one hit's `values`, as Elasticsearch's
    highlighter gave it: field → up to FRAGMENTS fragments of about FRAGMENT_CHARS characters, each match
    (the query's tokens in order, only separators between them) between MARK_START and MARK_END. Fields without
    a match are left out. Plain text: `highlight_html` escapes it."""
    words = _words(query)
    if not words:
        return {}
    probe = max(words, key=len)  # a cheap test first: most fields of a hit do not contain the rarest token
    found: dict[str, list[str]] = {}
    for name in HIGHLIGHTED:
        value = values.get(name)
        if not isinstance(value, str) or probe not in value.lower():
            continue
        spans = _occurrences(value, words)
        if spans:
            found[name] = _fragments(value, spans)
    return found


def labels(kind: str) -> list[tuple[str, str]]:
    """(field name, Chinese label) of a kind's public fields, in the standard's order, for display."""
    return [(f.name, f.zh) for f in fields_of(kind) if f.publicity != "never"] if kind in KINDS else []
