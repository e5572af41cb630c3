"""The public portal and the supervisors' dashboard against the real stack, over HTTP and in headless Chromium.

Decisions go through the whole pipeline (SDK → Kafka → worker → Elasticsearch); a real `sgs web` serves them.
Screenshots of the browser tests are kept in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from playwright.sync_api import Browser, sync_playwright

from sgs.config import Settings
from sgs.connectors.departments import new_department, utc_now
from sgs.connectors.publisher import Publisher
from sgs.connectors.search_indices import IndexNames, public_query_filter
from sgs.connectors.search_writer import BulkWriter, IndexWrite, documents_for
from sgs.connectors.simulate import authorities, licence, penalty, resident_id, uscc
from sgs.core.dates import CHINA_TZ
from sgs.core.docnum import decision_id
from sgs.web.supervisors import SupervisorKeys
from tests.integration.conftest import ARTIFACTS, ServiceProcess, WorkerProcess
from tests.integration.waiting import wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FULL_ID = re.compile(r"(?<![0-9])[1-9][0-9]{5}(19|20)[0-9]{9}[0-9X](?![0-9])")


@dataclasses.dataclass
class Corpus:
    company_code: str
    company_name: str
    penalty_number: str  # 〔〕 as published
    person_id: str
    script_penalty: str
    revoked: str
    ids: list[str]


def _id(kind: str, record: dict[str, str]) -> str:
    return (
        decision_id("licence" if kind == "licence" else "penalty", record["authority_code"], record["document_number"])
        or ""
    )


@pytest.fixture(scope="module")
def corpus(settings: Settings, worker: WorkerProcess) -> Corpus:
    rng = random.Random(4242)
    office = authorities(rng)[7]
    decided = datetime.now(CHINA_TZ).date() - timedelta(days=2)
    company = licence(rng, office, 880_001, decided)
    company["subject_name"] = "信阳市澄明检索测试物流有限公司"  # the simulation repeats names; this one is unique
    company_fields = {
        k: company[k]
        for k in (
            "subject_name",
            "subject_category",
            "subject_code",
            "legal_representative",
            "legal_representative_id_type",
            "legal_representative_id_number",
        )
    }
    fined = penalty(rng, office, 880_002, decided) | company_fields
    scripted = penalty(rng, office, 880_003, decided) | company_fields
    scripted["facts"] = "经查，当事人<script>alert('xss')</script>在店内销售过期食品。"
    person_id = resident_id("411502", date(1990, 5, 17), rng)
    person = penalty(rng, office, 880_004, decided)
    for key in (
        "subject_code",
        "legal_representative",
        "legal_representative_id_type",
        "legal_representative_id_number",
    ):
        person.pop(key, None)
    person |= {"subject_name": "王某某", "subject_category": "自然人", "id_type": "身份证", "id_number": person_id}
    withdrawn = penalty(rng, office, 880_005, decided) | company_fields
    records = [
        ("licence", company),
        ("penalty", fined),
        ("penalty", scripted),
        ("penalty", person),
        ("penalty", withdrawn),
    ]
    with Publisher(office[1], settings=settings) as publisher:
        receipts = [publisher.publish(kind, record) for kind, record in records]
    assert all(r.status == "accepted" for r in publisher.results), [(r.status, r.problems) for r in receipts]
    revoked = _id("penalty", withdrawn)
    with Publisher(office[1], settings=settings) as publisher:
        publisher.revoke(revoked)
    ids = [_id(kind, record) for kind, record in records]
    es, names = Elasticsearch(settings.elasticsearch), IndexNames(settings.index_prefix)
    aliases = f"{names.public_alias('licence')},{names.public_alias('penalty')}"

    def ready() -> bool:
        if not es.indices.exists_alias(name=aliases.split(",")):
            return False
        es.indices.refresh(index=aliases)
        query = {"bool": {"filter": [public_query_filter(), {"ids": {"values": ids}}]}}
        return int(es.count(index=aliases, query=query)["count"]) == len(ids) - 1

    wait_for(ready, timeout=120, what="the web corpus public (and its revoked decision withdrawn)")
    return Corpus(
        company["subject_code"],
        company["subject_name"],
        fined["document_number"],
        person_id,
        _id("penalty", scripted),
        revoked,
        ids,
    )


class Web(ServiceProcess):
    def __init__(self, settings: Settings, name: str, **changes: Any) -> None:
        super().__init__(dataclasses.replace(settings, **changes), "web", name, "/metrics")

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=30)


@pytest.fixture(scope="module")
def supervisor(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("supervisors") / "supervisors.json"
    return path, SupervisorKeys(path).add("zhang.wei", datetime.now(UTC))


@pytest.fixture(scope="module")
def web(settings: Settings, corpus: Corpus, supervisor: tuple[Path, str]) -> Iterator[Web]:
    process = Web(settings, "web", web_burst=100_000.0, web_rate=100_000.0, supervisors_path=supervisor[0])
    yield process
    process.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def marked(result: dict[str, Any]) -> str:
    """All highlight fragments of a result, as one text."""
    return "".join(fragment for fragments in result["highlight"].values() for fragment in fragments)


def ids_of(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["decision_id"] for r in response.json()["results"]}


def test_search_finds_by_name_code_and_any_bracket_variant(web: Web, corpus: Corpus) -> None:
    by_name = web.get("/api/v1/search", q=corpus.company_name)
    assert corpus.ids[0] in ids_of(by_name) and by_name.json()["total_relation"] == "eq"
    named = next(r for r in by_name.json()["results"] if r["decision_id"] == corpus.ids[0])
    assert named["highlight"]["subject_name"] == [f"<mark>{corpus.company_name}</mark>"]
    by_code = web.get("/api/v1/search", code=corpus.company_code.lower())
    assert ids_of(by_code) >= {corpus.ids[0], corpus.ids[1], corpus.ids[2]}
    assert ids_of(web.get("/api/v1/search", q=corpus.company_code.lower())) >= {corpus.ids[0], corpus.ids[1]}
    for variant in (
        corpus.penalty_number.replace("〔", "[").replace("〕", "]"),
        corpus.penalty_number.replace("〔", "（").replace("〕", "）"),
    ):
        assert corpus.ids[1] in ids_of(web.get("/api/v1/search", q=variant))
        assert ids_of(web.get("/api/v1/search", document_number=variant)) == {corpus.ids[1]}
    penalties = web.get("/api/v1/search", code=corpus.company_code, kind="penalty", sort="newest")
    assert corpus.ids[0] not in ids_of(penalties)
    highlighted = web.get("/api/v1/search", q="过期食品").json()["results"]
    assert any("<mark>" in marked(r) for r in highlighted)


def test_hostile_queries_are_answered_or_refused_never_executed(web: Web, corpus: Corpus) -> None:
    for text in ("name:* OR 1=1", "*", '"unterminated', "subject_name:(a OR b)", "' OR '1'='1'; --", "\\\\x00"):
        assert web.get("/api/v1/search", q=text).status_code == 200
    assert web.get("/api/v1/search", q="x" * 10_000).status_code == 422
    script = web.get("/api/v1/search", q="alert").json()["results"]
    assert all("<script>" not in marked(r) for r in script)
    page = web.get("/", q="过期食品").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_pages_past_the_end_negative_pages_and_unknown_filters(web: Web, corpus: Corpus) -> None:
    past = web.get("/api/v1/search", code=corpus.company_code, page="999")
    assert past.status_code == 200 and past.json()["results"] == [] and past.json()["total"] >= 3
    assert web.get("/api/v1/search", q="x", page="-3").status_code == 422
    unknown = web.get("/api/v1/search", q="x", where="1=1")
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "query.where"
    assert web.get("/", q="x", page="-1").status_code == 422  # the page says so too


def test_no_full_id_number_is_served_anywhere(web: Web, corpus: Corpus, supervisor: tuple[Path, str]) -> None:
    masked = corpus.person_id[:6] + "*" * 12
    person = web.get("/api/v1/search", q="王某某").json()["results"]
    assert person and all(r.get("id_number") == masked for r in person if r["subject_name"] == "王某某")
    served = [
        web.get("/api/v1/search", q="王某某").text,
        web.get("/", q="王某某").text,
        web.get(f"/api/v1/entities/{corpus.company_code}").text,
        web.get(f"/entity/{corpus.company_code}").text,
    ]
    auth = ("zhang.wei", supervisor[1])
    for path in (
        "/dashboard",
        *(f"/dashboard/export/{name}.csv" for name in ("overdue", "at_risk", "pending", "alerts")),
    ):
        served.append(httpx.get(f"{web.url}{path}", auth=auth, timeout=30).text)
    for text in served:
        assert not FULL_ID.search(text), FULL_ID.search(text)
    assert masked in served[1]
    for department in ("中", "a\r\nX-Injected: 1"):  # neither may reach the Content-Disposition header
        odd = httpx.get(f"{web.url}/dashboard/export/alerts.csv", params={"department": department}, auth=auth)
        assert odd.status_code == 200 and "x-injected" not in odd.headers


def test_a_revoked_record_is_not_findable(web: Web, corpus: Corpus) -> None:
    assert corpus.revoked not in ids_of(web.get("/api/v1/search", code=corpus.company_code))
    entity = web.get(f"/api/v1/entities/{corpus.company_code}").json()
    assert corpus.revoked not in {r["decision_id"] for r in entity["results"]}
    # A parameter the entity API would ignore is refused, as the search refuses it.
    refused = web.get(f"/api/v1/entities/{corpus.company_code}", bogus="1")
    assert refused.status_code == 422 and "bogus" in refused.text


def test_an_entity_with_more_decisions_than_one_page_shows_its_total_and_the_newest(
    web: Web, settings: Settings, corpus: Corpus
) -> None:
    """More public decisions than the entity page lists (200): the total is the real one, the page says how many
    it shows. Written straight to the public index: the pipeline is not what this test is about."""
    subject = uscc("91411502", random.Random(205))
    names = IndexNames(settings.index_prefix)
    now = datetime.now(UTC)
    writes = []
    for i in range(205):
        document = {"kind": "penalty", "subject_code": subject, "subject_name": "信阳市多次受罚有限公司"}
        document |= {"decision_date": (date(2025, 1, 1) + timedelta(days=i)).isoformat()}
        state = {
            "decision_id": f"penalty:{corpus.company_code}:测罚〔2025〕{i}号",
            "kind": "penalty",
            "sequence": 1,
            "status": "active",
            "public_document": json.dumps(document, ensure_ascii=False),
            "archive_document": json.dumps(document, ensure_ascii=False),
        }
        writes.extend(documents_for(state, names, indexed_at=now))

    async def write() -> None:
        async with AsyncElasticsearch(settings.elasticsearch) as es:
            await BulkWriter(es).write(writes)
            await es.indices.refresh(index=names.public_alias("penalty"))

    asyncio.run(write())
    entity = web.get(f"/api/v1/entities/{subject}").json()
    assert entity["total"] == 205 and len(entity["results"]) == 200
    assert entity["results"][0]["decision_date"] == (date(2025, 1, 1) + timedelta(days=204)).isoformat()
    page = httpx.get(f"{web.url}/entity/{subject}", timeout=30).text
    assert '<strong id="total">205</strong>' in page and "显示最新的 200 条" in page


def test_a_dashboard_export_holds_every_row_not_only_what_the_page_lists(
    web: Web, settings: Settings, supervisor: tuple[Path, str]
) -> None:
    """The page lists 500 overdue items; the CSV is what a supervisor sends on, so it has them all."""
    department = uscc("11411500", random.Random(605))
    names = IndexNames(settings.index_prefix)
    writes = []
    for i in range(605):
        decision = f"penalty:{department}:逾罚〔2025〕{i}号"
        document = {
            "decision_id": decision,
            "kind": "penalty",
            "department_code": department,
            "state": "overdue",
            "decision_date": "2025-06-03",
            "deadline": "2025-06-12",
            "provisional": False,
            "first_seen_at": "2025-06-03T02:00:00+00:00",
            "sequence": 3,
        }
        writes.append(IndexWrite(names.deadlines, decision, 3, document))

    async def write() -> None:
        async with AsyncElasticsearch(settings.elasticsearch) as es:
            await BulkWriter(es).write(writes)
            await es.indices.refresh(index=names.deadlines)

    asyncio.run(write())
    auth = ("zhang.wei", supervisor[1])
    exported = httpx.get(f"{web.url}/dashboard/export/overdue.csv", params={"department": department}, auth=auth)
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 605 and len({row["decision_id"] for row in rows}) == 605


def test_dashboard_rejection_reasons_are_named_in_chinese(
    web: Web, settings: Settings, supervisor: tuple[Path, str]
) -> None:
    department = uscc("11411500", random.Random(606))
    names = IndexNames(settings.index_prefix)
    document = {
        "decision_id": f"penalty:{department}:退罚〔2025〕1号",
        "department_code": department,
        "kind": "penalty",
        "problems": [{"field": "subject_code", "code": "uscc.check_character", "message": "校验码错误"}],
        "problem_codes": ["uscc.check_character"],
        "rejected_at": "2025-06-03T02:00:00+00:00",
    }

    async def write() -> None:
        async with AsyncElasticsearch(settings.elasticsearch) as es:
            await BulkWriter(es).write([IndexWrite(names.rejections, f"web-test:{department}", 1, document)])
            await es.indices.refresh(index=names.rejections)

    asyncio.run(write())
    auth = ("zhang.wei", supervisor[1])
    page = httpx.get(f"{web.url}/dashboard/department/{department}", auth=auth, timeout=30)
    assert page.status_code == 200 and "统一社会信用代码校验位错误" in page.text and "uscc.check_character" in page.text
    series = httpx.get(f"{web.url}/dashboard/api/dead-letters", params={"department": department}, auth=auth).json()
    assert series["labels"] == {"uscc.check_character": "统一社会信用代码校验位错误"}
    exported = httpx.get(f"{web.url}/dashboard/export/dead_letters.csv", params={"department": department}, auth=auth)
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows == [{"reason": "uscc.check_character", "label": "统一社会信用代码校验位错误", "count": "1"}]


def test_the_dashboard_lets_in_supervisors_only(
    web: Web, supervisor: tuple[Path, str], settings: Settings, corpus: Corpus
) -> None:
    assert httpx.get(f"{web.url}/dashboard").status_code == 401
    assert httpx.get(f"{web.url}/dashboard", auth=("zhang.wei", "sgs_wrong_key")).status_code == 401
    department_key, _ = new_department("11411500MB0000000X", "某部门", None, utc_now())
    assert httpx.get(f"{web.url}/dashboard", auth=("zhang.wei", department_key)).status_code == 401
    assert httpx.get(f"{web.url}/dashboard/api/on-time").status_code == 401
    ok = httpx.get(f"{web.url}/dashboard", auth=("zhang.wei", supervisor[1]), timeout=30)
    assert ok.status_code == 200 and "双公示监管看板" in ok.text
    csv_export = httpx.get(f"{web.url}/dashboard/export/departments.csv", auth=("zhang.wei", supervisor[1]))
    assert csv_export.status_code == 200 and csv_export.text.startswith("\ufeffdepartment_code")


def test_the_public_api_is_read_only_cached_and_rate_limited(web: Web, settings: Settings, corpus: Corpus) -> None:
    response = web.get("/api/v1/search", q=corpus.company_name)
    assert response.headers["cache-control"] == "public, max-age=30"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert httpx.post(f"{web.url}/api/v1/search", json={}).status_code == 405
    strict = Web(settings, "web-rate-limited", web_burst=3.0, web_rate=0.5)
    try:
        statuses = [strict.get("/api/v1/search", q="x").status_code for _ in range(6)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    finally:
        strict.close()


def test_sgs_search_is_a_terminal_client_of_the_api(web: Web, corpus: Corpus) -> None:
    env = {**os.environ, **web.settings.to_env()}
    done = subprocess.run(
        [sys.executable, "-m", "sgs.cli.main", "search", corpus.company_name, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert corpus.ids[0] in done.stdout


def test_the_search_page_in_chromium(web: Web, browser: Browser, corpus: Corpus) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(web.url)
    page.fill("input[name=q]", "过期食品")
    page.click("button[type=submit]")
    page.wait_for_selector(".record")
    assert int(page.inner_text("#total")) >= 1
    assert page.locator("mark").count() >= 1 and page.locator("script").count() == 0
    page.screenshot(path=str(ARTIFACTS / "web-search.png"), full_page=True)
    assert not errors, errors


def test_the_entity_page_in_chromium(web: Web, browser: Browser, corpus: Corpus) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{web.url}/entity/{corpus.company_code}")
    dates = page.locator(".record .meta").all_inner_texts()
    assert int(page.inner_text("#total")) == len(dates) >= 3
    assert corpus.company_name in page.inner_text("h1")
    page.screenshot(path=str(ARTIFACTS / "web-entity.png"), full_page=True)


def test_the_dashboard_in_chromium(web: Web, browser: Browser, supervisor: tuple[Path, str]) -> None:
    context = browser.new_context(
        http_credentials={"username": "zhang.wei", "password": supervisor[1]}, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)
    page.goto(f"{web.url}/dashboard")
    # (A predicate string would be eval: the page's Content-Security-Policy refuses it, as it should.)
    for chart in page.locator(".chart").all():
        chart.and_(page.locator("[data-drawn=true]")).wait_for(timeout=20_000)
        chart.hover()  # the tooltips are drawn on the canvas: HTML tooltips' inline styles break the CSP
        page.mouse.move(0, 0)
    # Each chart drew on a canvas (one with data under the pointer may add a hover layer: a second canvas).
    assert page.locator(".chart:has(canvas)").count() == page.locator(".chart").count() == 3
    assert not refused, refused
    page.screenshot(path=str(ARTIFACTS / "web-dashboard.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_the_api_docs_render_under_the_content_security_policy(web: Web, browser: Browser) -> None:
    page = browser.new_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{web.url}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "信用信息公示查询" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() >= 1  # the operations were read from /openapi.json
    page.screenshot(path=str(ARTIFACTS / "web-docs.png"), full_page=True)
    assert not refused, refused


def test_unknown_pages_and_methods_answer_in_chinese_in_the_portals_formats(web: Web) -> None:
    page = httpx.get(f"{web.url}/entity/a/b")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "没有这个页面" in page.text
    api = httpx.delete(f"{web.url}/api/v1/search")
    assert api.status_code == 405 and api.json()["error"]["message"] == "不支持此请求方法"
    challenge = httpx.get(f"{web.url}/dashboard")
    assert challenge.status_code == 401 and challenge.headers["www-authenticate"].startswith("Basic")
