"""Public search, pure: what a query string may ask, the Elasticsearch request it becomes, what a hit shows.

Nothing the public types is ever read as query syntax: free text goes into phrase matches (the standard
analyzer splits Chinese into characters, so a phrase finds names and facts in order), codes and document
numbers into exact terms after the platform's own normalization — so any bracket variant of a 文号 finds it.
Every search carries the public filter (withdrawn decisions never appear) and reads only the public indices,
which hold only the masked public view.
"""

from __future__ import annotations

import functools
import html
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
        return not (self.q or self.code or self.document_number or self.department or self.category)

    def as_query(self) -> dict[str, str]:
        """The non-default parameters, for links to other pages of the same search."""
        defaults = SearchParams()
        values = {name: getattr(self, name) for name in FILTERS}
        return {k: str(v) for k, v in values.items() if v != getattr(defaults, k) and v not in (None, "")}


def _date(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchError(name, f"日期应为 YYYY-MM-DD：{value[:40]}") from None


def _int(name: str, value: str, default: int) -> int:
    if not value:
        return default
    if not value.strip().lstrip("-").isdigit():
        raise SearchError(name, f"{name} 应为整数")
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


def _text_clauses(text: str) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = [{"multi_match": {"query": text, "type": "phrase", "fields": list(TEXT_FIELDS)}}]
    code = normalize_code(text)
    if check_uscc(code).valid:
        clauses.append({"term": {"subject_code": {"value": code, "boost": 10}}})
    number = normalize_document_number(text)
    if number:
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
        "track_total_hits": True,
    }
    if params.q:  # only free text has matches to show
        # Private-use characters as tags: the fragment is escaped here (`highlight_html`), never trusted as HTML.
        body["highlight"] = {
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
            "fields": {name: {"number_of_fragments": 2, "fragment_size": 80} for name in HIGHLIGHTED},
        }
    if params.sort == "newest":
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


def hit_view(hit: dict[str, Any]) -> dict[str, Any]:
    """One result as the public sees it: the public document's fields (already masked) and highlights."""
    source = hit["_source"]
    view = {name: source[name] for name in _shown(source.get("kind", "")) if source.get(name) not in (None, "")}
    view["highlight"] = {
        name: [highlight_html(fragment) for fragment in fragments]
        for name, fragments in hit.get("highlight", {}).items()
    }
    return view


def labels(kind: str) -> list[tuple[str, str]]:
    """(field name, Chinese label) of a kind's public fields, in the standard's order, for display."""
    return [(f.name, f.zh) for f in fields_of(kind) if f.publicity != "never"] if kind in KINDS else []
