"""The public search's rules, without Elasticsearch: what may be asked, what is sent, what a hit shows and marks."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.config import Settings
from sgs.connectors.search_indices import IndexNames
from sgs.web.app import create_app
from sgs.web.search import (
    FRAGMENT_CHARS,
    FRAGMENTS,
    MARK_END,
    MARK_START,
    MAX_WINDOW,
    SearchError,
    build,
    highlight,
    highlight_html,
    hit_view,
    indices,
    parse,
)

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
    for variant in ("信环罚[2025]12号", "信环罚（２０２５）１２号", "信环罚【2025】12号", " 信环罚 (2025) 第12号"):
        number = "信环罚〔2025〕第12号" if "第" in variant else "信环罚〔2025〕12号"
        should = build(parse({"q": variant}))["query"]["bool"]["should"]
        assert should == [{"term": {"document_number_normalized": {"value": number, "boost": 10}}}]  # no phrase
        filters = build(parse({"document_number": variant}))["query"]["bool"]["filter"]
        assert {"term": {"document_number_normalized": number}} in filters
    should = build(parse({"q": COMPANY.lower()}))["query"]["bool"]["should"]
    assert should == [{"term": {"subject_code": {"value": COMPANY, "boost": 10}}}]


def test_anything_short_of_a_whole_code_or_document_number_is_also_a_phrase() -> None:
    for text in (
        "信环罚〔2025〕",
        "〔2025〕12号",
        "信环罚〔2025〕12号 罚款",
        COMPANY[:-1],
        "信阳恒泰商贸有限公司",
        "12号",
    ):
        should = build(parse({"q": text}))["query"]["bool"]["should"]
        assert should[0]["multi_match"]["type"] == "phrase", text


def test_totals_are_exact_up_to_the_last_result_a_page_can_reach() -> None:
    assert build(parse({"q": "罚款"}))["track_total_hits"] == MAX_WINDOW


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
    view = hit_view({"_source": source}, "某某")
    assert "legal_representative_id_number" not in view and "withdrawn" not in view and "sequence" not in view
    assert view["highlight"] == {"subject_name": ["<mark>某某</mark>公司"]}
    assert hit_view({"_source": source})["highlight"] == {}  # no free text (a code, the entity page): no marks


def marks(fragments: list[str]) -> list[str]:
    return [m for fragment in fragments for m in re.findall(f"{MARK_START}(.*?){MARK_END}", fragment)]


def test_the_highlight_marks_what_the_phrase_matched_as_the_standard_analyzer_sees_it() -> None:
    facts = "经查，当事人于2024年在经营场所内销售型号ABC-123的设备，罚款1.5万元；依据信环罚〔2024〕12号。"
    cases = {
        "2024年": ["2024年"],  # digits and ideographs are separate tokens
        "经营 场所": ["经营场所"],  # separators in the query are not text
        "abc 123": ["ABC-123"],  # lowercased; the hyphen separates
        "信环罚[2024]12号": ["信环罚〔2024〕12号"],  # any brackets: they are not tokens
        "20": [],  # 2024 is one token: no part of it matches
        "5万元": [],  # nor of 1.5
        "经查当事人销售": [],  # the tokens in order, but not adjacent
        "。，": [],  # no tokens: nothing to mark
    }
    for query, expected in cases.items():
        assert marks(highlight(query, {"facts": facts}).get("facts", [])) == expected, query
    name = {"subject_name": "信阳恒泰商贸有限公司", "authority_name": "信阳市市场监督管理局", "document_number": "信阳"}
    found = highlight("信阳", name)
    assert found == {
        "subject_name": [f"{MARK_START}信阳{MARK_END}恒泰商贸有限公司"],
        "authority_name": [f"{MARK_START}信阳{MARK_END}市市场监督管理局"],
    }  # only the highlighted fields; the whole of a short value, every occurrence marked
    assert marks(highlight("罚款", {"penalty_content": "罚款：责令改正并处罚款"})["penalty_content"]) == ["罚款"] * 2


def test_a_long_value_gives_at_most_two_fragments_around_its_matches() -> None:
    sentence = "执法人员现场检查发现库房内堆放过期食品共计12箱，当事人对违法事实无异议。"
    facts = "本局依法责令其改正。" * 8 + sentence * 6
    fragments = highlight("过期食品", {"facts": facts})["facts"]
    assert len(fragments) == FRAGMENTS and all(MARK_START in f for f in fragments)
    assert fragments[0].startswith("执法人员")  # from the start of the match's sentence
    assert all(len(f.replace(MARK_START, "").replace(MARK_END, "")) <= FRAGMENT_CHARS + 1 for f in fragments)


CHINESE = st.sampled_from("信阳市平桥区恒泰商贸有限公司经查当事人销售过期食品责令改正并处罚款")
LATIN = st.text(alphabet="abcxyzABCXYZ0123456789", min_size=1, max_size=6)
TEXT = st.text(
    alphabet=st.sampled_from("信阳市场监督管理局当事人，。；：（）〔〕[] .-ab12<>&\"'/" + MARK_START + MARK_END)
)
PHRASE = st.lists(st.one_of(CHINESE, LATIN), min_size=1, max_size=6)


@settings(max_examples=300)
@given(before=TEXT, after=TEXT, words=PHRASE, separator=st.sampled_from([" ", "-", "〔", "、", "】 "]))
def test_a_phrase_in_random_text_is_found_marked_and_short(
    before: str, after: str, words: list[str], separator: str
) -> None:
    # In the text the phrase's words are apart (separators that never join tokens, as "，" joins 1，000) or, for
    # two ideographs, together; the query gives them in lower case, apart.
    phrase = words[0].upper()
    for previous, word in itertools.pairwise(words):
        phrase += ("" if not (previous + word).isascii() and separator == "、" else separator) + word.upper()
    facts = f"{before}。{phrase}。{after}"
    fragments = highlight(" ".join(words).lower(), {"facts": facts})["facts"]
    assert 1 <= len(fragments) <= FRAGMENTS
    found = marks(fragments)
    assert found and all(re.sub(r"[\W_]", "", m).lower() == "".join(words).lower() for m in found)
    for fragment in fragments:
        text = fragment.replace(MARK_START, "").replace(MARK_END, "")
        assert text in facts.replace(MARK_START, "").replace(MARK_END, "")
        assert len(text) <= max(FRAGMENT_CHARS, *(len(m) for m in found)) + 1
        outside, inside = f"[^{MARK_START}{MARK_END}]", f"{MARK_START}[^{MARK_START}{MARK_END}]+{MARK_END}"
        assert re.fullmatch(f"{outside}*({inside}{outside}*)*", fragment)  # balanced, never nested or empty


@settings(max_examples=300)
@given(text=TEXT, script=st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><b>']))
def test_marks_are_the_only_markup_whatever_the_value_holds(text: str, script: str) -> None:
    facts = f"{text}{script}信阳{MARK_END}{script}{MARK_START}{text}"
    for fragment in highlight("信阳", {"facts": facts})["facts"]:
        shown = highlight_html(fragment)
        assert "<script" not in shown and "<img" not in shown and "<b>" not in shown
        assert re.sub("</?mark>", "", shown).count("<") == 0 and shown.count("<mark>") == shown.count("</mark>") >= 1


@settings(max_examples=200)
@given(text=TEXT, words=PHRASE)
def test_no_match_no_highlight(text: str, words: list[str]) -> None:
    query = " ".join(words) + " 罚"  # 罚 is not in TEXT's alphabet
    assert highlight(query, {"facts": text, "subject_name": text, "content": text}) == {}


class BroadElasticsearch:
    """An Elasticsearch that found more decisions than it counted: one hit, the total capped."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def search(self, index: str, **body: Any) -> dict[str, Any]:
        self.bodies.append(body)
        source = {"kind": "penalty", "decision_id": "penalty:X:1", "subject_name": "信阳恒泰商贸有限公司"}
        hit = {"_source": source | {"facts": "当事人<b>销售</b>过期食品，并处罚款。"}}
        return {"hits": {"total": {"value": MAX_WINDOW, "relation": "gte"}, "hits": [hit]}}

    async def close(self) -> None:
        pass


def test_a_capped_total_says_so_in_the_api_and_on_the_page() -> None:
    elasticsearch = BroadElasticsearch()
    app = create_app(Settings(elasticsearch_port=1), elasticsearch=elasticsearch)  # type: ignore[arg-type]
    with TestClient(app) as client:
        found = client.get("/api/v1/search", params={"q": "罚款"}).json()
        page = client.get("/", params={"q": "罚款"}).text
        empty = client.get("/api/v1/search").json()
    assert found["total"] == MAX_WINDOW and found["total_relation"] == "gte"
    assert found["results"][0]["highlight"] == {
        "facts": ["当事人&lt;b&gt;销售&lt;/b&gt;过期食品，并处<mark>罚款</mark>。"]
    }
    assert '共 <strong id="total">10,000+</strong> 条' in page and "<mark>罚款</mark>" in page
    assert "highlight" not in elasticsearch.bodies[0]  # found here, not by Elasticsearch
    assert empty == {"page": 1, "size": 20, "total": 0, "total_relation": "eq", "results": []}


BAD_NUMBERS = ("²", "①", "٣", "１", "--1", "+1", "1.0", "1e3", "0x10", "1_000", "9" * 4_301, "1" * 10)


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("name", ["page", "size"])
def test_a_page_or_size_in_anything_but_ascii_digits_is_refused(name: str, value: str) -> None:
    with pytest.raises(SearchError) as refused:
        parse({"q": "x", name: value})
    assert refused.value.field == name and "整数" in refused.value.message


def test_negative_numbers_fail_the_range_check_and_plain_digits_are_taken() -> None:
    for query, field, message in (({"page": "-1"}, "page", "页码从 1 开始"), ({"size": "---5"}, "size", "整数")):
        with pytest.raises(SearchError) as refused:
            parse({"q": "x", **query})
        assert refused.value.field == field and message in refused.value.message
    params = parse({"q": "x", "page": "007", "size": "50"})
    assert (params.page, params.size) == (7, 50)
    assert parse({"q": "x", "page": "999999999"}).page == 999_999_999


@pytest.mark.parametrize("value", ["20250101", "2025-W01-1", "２０２５-01-01", "2025-1-1"])
def test_dates_only_in_the_documented_form(value: str) -> None:
    with pytest.raises(SearchError) as refused:
        parse({"q": "x", "date_from": value})
    assert refused.value.field == "date_from"


def test_bad_numbers_are_a_422_with_the_reason_never_a_500() -> None:
    app = create_app(Settings(elasticsearch_port=1), elasticsearch=BroadElasticsearch())  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        for name, value in (("page", "²"), ("page", "①"), ("page", "--1"), ("size", "²"), ("size", "---5")):
            answer = client.get("/api/v1/search", params={"q": "罚款", name: value})
            assert answer.status_code == 422, (name, value)
            assert answer.json()["error"]["code"] == f"query.{name}"
        answer = client.get("/api/v1/search", params={"q": "罚款", "page": "9" * 4_301})
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "query.page"
        assert client.get("/", params={"q": "罚款", "page": "٣"}).status_code == 422


def test_a_filter_alone_is_a_search_newest_first() -> None:
    for query in ({"kind": "penalty"}, {"date_from": "2026-01-01"}, {"department": "11411500005000018R"}):
        params = parse(query)
        assert not params.empty
        assert build(params)["sort"] == [{"decision_date": "desc"}, {"decision_id": "asc"}]
    assert parse({}).empty
    assert "sort" not in build(parse({"q": "某某公司"}))  # words: ranked by relevance
