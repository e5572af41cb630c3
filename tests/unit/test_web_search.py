"""The public search's rules, without Elasticsearch: what may be asked, what is sent, what a hit shows."""

from __future__ import annotations

import json

import pytest

from sgs.connectors.search_indices import IndexNames
from sgs.web.search import MAX_WINDOW, SearchError, build, highlight_html, hit_view, indices, parse

from .factories import COMPANY, LEGAL_REP_ID


def test_unknown_filters_negative_pages_and_long_queries_are_refused_with_reasons() -> None:
    for query, field in (
        ({"foo": "1"}, "foo"),
        ({"q": "x", "page": "-1"}, "page"),
        ({"q": "x", "page": "0"}, "page"),
        ({"q": "x", "page": "two"}, "page"),
        ({"q": "x", "size": "500"}, "size"),
        ({"q": "查" * 10_000}, "q"),
        ({"q": "x", "kind": "tax"}, "kind"),
        ({"q": "x", "category": "枪毙"}, "category"),
        ({"q": "x", "date_from": "2025-02-30"}, "date_from"),
        ({"q": "x", "date_from": "2025-03-01", "date_to": "2025-02-01"}, "date_from"),
        ({"q": "x", "sort": "random"}, "sort"),
    ):
        with pytest.raises(SearchError) as refused:
            parse(query)
        assert refused.value.field == field and refused.value.message


def test_free_text_is_never_query_syntax_and_every_search_is_public_only() -> None:
    for text in ("name:* OR 1=1", "*", '"unterminated', "a AND (b OR", "'; DROP TABLE decisions; --", "<script>"):
        body = build(parse({"q": text}))
        assert {"term": {"withdrawn": False}} in body["query"]["bool"]["filter"]
        serialized = json.dumps(body)
        assert "query_string" not in serialized and "wildcard" not in serialized and "regexp" not in serialized
        phrase = body["query"]["bool"]["should"][0]["multi_match"]
        assert phrase["type"] == "phrase" and phrase["query"] == text


def test_a_document_number_in_any_brackets_and_a_code_become_exact_terms() -> None:
    for variant in ("信环罚[2025]12号", "信环罚（２０２５）１２号", "信环罚【2025】12号"):
        should = build(parse({"q": variant}))["query"]["bool"]["should"]
        assert {"term": {"document_number_normalized": {"value": "信环罚〔2025〕12号", "boost": 10}}} in should
        filters = build(parse({"document_number": variant}))["query"]["bool"]["filter"]
        assert {"term": {"document_number_normalized": "信环罚〔2025〕12号"}} in filters
    should = build(parse({"q": COMPANY.lower()}))["query"]["bool"]["should"]
    assert {"term": {"subject_code": {"value": COMPANY, "boost": 10}}} in should


def test_pages_past_the_end_of_the_window_ask_for_nothing() -> None:
    body = build(parse({"q": "x", "page": str(MAX_WINDOW), "size": "50"}))
    assert body["size"] == 0 and body["from"] + 50 <= MAX_WINDOW
    assert indices(IndexNames("sgs-"), parse({"q": "x", "kind": "penalty"})) == "sgs-penalties"


def test_highlights_are_escaped_text_with_marks_only() -> None:
    fragment = '当事人\ue000<script>alert(1)</script>\ue001在"店"内'
    assert highlight_html(fragment) == "当事人<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>在&quot;店&quot;内"


def test_a_hit_shows_only_public_fields() -> None:
    source = {
        "kind": "penalty",
        "decision_id": "penalty:X:1",
        "subject_name": "某某公司",
        "legal_representative_id_number": LEGAL_REP_ID,  # never public: even if a document carried it
        "withdrawn": False,
        "sequence": 3,
    }
    view = hit_view({"_source": source, "highlight": {"subject_name": ["\ue000某某\ue001公司"]}})
    assert "legal_representative_id_number" not in view and "withdrawn" not in view and "sequence" not in view
    assert view["highlight"] == {"subject_name": ["<mark>某某</mark>公司"]}
