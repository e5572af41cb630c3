"""The supervisors' dashboard (市信用办): deadline breaches, on-time rates, latency, rejections, sanction alerts.

Everything comes from Elasticsearch aggregations over the deadlines, archive, rejections and alerts indices.
Charts (ECharts, served from this machine) fetch `/dashboard/api/...`; every list is a table with a CSV export.
Only supervisors get in (HTTP Basic with a key from `sgs supervisors add`); department keys do not open it.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any

from elasticsearch import AsyncElasticsearch
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from sgs.connectors.search_indices import IndexNames
from sgs.core.calendar import WorkingCalendar
from sgs.core.dates import CHINA_TZ, beijing_time
from sgs.core.decision import is_person_key
from sgs.core.problem_labels import problem_label
from sgs.core.tracking import days_late_so_far
from sgs.web.supervisors import Supervisor, SupervisorKeys

LIST_LIMIT = 500  # rows of a list on the page; its CSV export has every row (up to EXPORT_LIMIT)
ALERTS_SHOWN = 100
EXPORT_LIMIT = 200_000
PAGE = 1000
OPEN_STATES = ("overdue", "at_risk", "pending")
STATE_TITLES = {"overdue": "已逾期未公示", "at_risk": "临期（今天或下一个工作日截止）", "pending": "待公示"}
LATENCY_SAMPLE = 5000
basic = HTTPBasic(realm="sgs supervisors", auto_error=False)
router = APIRouter(prefix="/dashboard", include_in_schema=False)


def supervisor(request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> Supervisor:
    keys: SupervisorKeys = request.app.state.supervisors
    found = keys.authenticate(credentials.username, credentials.password) if credentials else None
    if found is None:
        raise HTTPException(
            401, "需要监管人员凭证（sgs supervisors add）", headers={"WWW-Authenticate": 'Basic realm="sgs"'}
        )
    return found


Signed = Annotated[Supervisor, Depends(supervisor)]


def _es(request: Request) -> AsyncElasticsearch:
    es: AsyncElasticsearch = request.app.state.parts["es"]
    return es


def _names(request: Request) -> IndexNames:
    return IndexNames(request.app.state.settings.index_prefix)


def _today(request: Request) -> date:
    now: datetime = request.app.state.clock()
    return now.astimezone(CHINA_TZ).date()


def _scoped(field: str, department: str) -> dict[str, Any]:
    """Everything, or one department's part of it (a drill-down)."""
    return {"term": {field: department}} if department else {"match_all": {}}


async def department_names(es: AsyncElasticsearch, names: IndexNames) -> dict[str, str]:
    """Department code → name, from what the departments published (数据来源单位)."""
    found = await es.search(
        index=names.archive,
        size=0,
        aggs={
            "departments": {
                "terms": {"field": "source_department_code", "size": 1000},
                "aggs": {"name": {"top_hits": {"size": 1, "_source": ["source_department"]}}},
            }
        },
        ignore_unavailable=True,
    )
    buckets = found.get("aggregations", {}).get("departments", {}).get("buckets", [])
    return {b["key"]: b["name"]["hits"]["hits"][0]["_source"].get("source_department", "") for b in buckets}


async def _sources(
    es: AsyncElasticsearch, index: str, query: dict[str, Any], sort: list[dict[str, str]], limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` documents in `sort` order (which must be total), a page of at most 1,000 at a time."""
    sources: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while len(sources) < limit:
        page = min(PAGE, limit - len(sources))
        found = await es.search(
            index=index, query=query, sort=sort, size=page, search_after=after, ignore_unavailable=True
        )
        hits = found["hits"]["hits"]
        sources.extend(hit["_source"] for hit in hits)
        if len(hits) < page:
            break
        after = hits[-1]["sort"]
    return sources


async def open_items(
    es: AsyncElasticsearch,
    names: IndexNames,
    state: str,
    today: date,
    calendar: WorkingCalendar,
    department: str = "",
    limit: int = LIST_LIMIT,
) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"term": {"state": state}}]
    if department:
        filters.append({"term": {"department_code": department}})
    query = {"bool": {"filter": filters}}
    sort = [{"deadline": "asc"}, {"decision_id": "asc"}]
    items = []
    for doc in await _sources(es, names.deadlines, query, sort, limit):
        late = days_late_so_far(date.fromisoformat(doc["deadline"]), today, calendar) if state == "overdue" else 0
        items.append(
            {
                "decision_id": doc["decision_id"],
                "kind": doc["kind"],
                "department_code": doc["department_code"],
                "decision_date": doc["decision_date"],
                "deadline": doc["deadline"],
                "provisional": doc.get("provisional", False),
                "working_days_late": late,
            }
        )
    return items


async def state_counts(es: AsyncElasticsearch, names: IndexNames, department: str = "") -> dict[str, Any]:
    """Per department and state: how many decisions (the table on the front page)."""
    query = _scoped("department_code", department)
    found = await es.search(
        index=names.deadlines,
        query=query,
        size=0,
        aggs={
            "departments": {
                "terms": {"field": "department_code", "size": 1000},
                "aggs": {"states": {"terms": {"field": "state", "size": 10}}},
            }
        },
        ignore_unavailable=True,
    )
    rows = []
    for bucket in found.get("aggregations", {}).get("departments", {}).get("buckets", []):
        states = {b["key"]: b["doc_count"] for b in bucket["states"]["buckets"]}
        closed = states.get("published_on_time", 0) + states.get("published_late", 0)
        rows.append(
            {
                "department_code": bucket["key"],
                **{state: states.get(state, 0) for state in (*OPEN_STATES, "published_on_time", "published_late")},
                "on_time_rate": round(states.get("published_on_time", 0) / closed, 4) if closed else None,
            }
        )
    rows.sort(key=lambda r: (-r["overdue"], -r["at_risk"], r["department_code"]))
    return {"rows": rows, "totals": {state: sum(r[state] for r in rows) for state in OPEN_STATES}}


async def on_time_series(es: AsyncElasticsearch, names: IndexNames, department: str = "") -> dict[str, Any]:
    """Weekly on-time rate by kind (and, across the platform, by department for the ten largest)."""
    filters: list[dict[str, Any]] = [{"terms": {"state": ["published_on_time", "published_late"]}}]
    if department:
        filters.append({"term": {"department_code": department}})
    split = "kind" if department else "department_code"
    found = await es.search(
        index=names.deadlines,
        query={"bool": {"filter": filters}},
        size=0,
        aggs={
            "weeks": {
                "date_histogram": {"field": "published_at", "calendar_interval": "week", "time_zone": "+08:00"},
                "aggs": {
                    "split": {
                        "terms": {"field": split, "size": 10},
                        "aggs": {"on_time": {"filter": {"term": {"state": "published_on_time"}}}},
                    },
                    "on_time": {"filter": {"term": {"state": "published_on_time"}}},
                },
            }
        },
        ignore_unavailable=True,
    )
    weeks = found.get("aggregations", {}).get("weeks", {}).get("buckets", [])
    labels = [b["key_as_string"][:10] for b in weeks]
    series: dict[str, list[float | None]] = {"全部": []}
    for index, week in enumerate(weeks):
        series["全部"].append(round(week["on_time"]["doc_count"] / week["doc_count"], 4) if week["doc_count"] else None)
        for bucket in week["split"]["buckets"]:
            line = series.setdefault(bucket["key"], [None] * len(weeks))
            line[index] = round(bucket["on_time"]["doc_count"] / bucket["doc_count"], 4)
    return {"weeks": labels, "series": series}


async def latency_histogram(
    es: AsyncElasticsearch, names: IndexNames, calendar: WorkingCalendar, department: str = ""
) -> dict[str, Any]:
    """How many working days decisions took to be published (the latest published ones)."""
    filters: list[dict[str, Any]] = [{"exists": {"field": "published_at"}}]
    if department:
        filters.append({"term": {"department_code": department}})
    found = await es.search(
        index=names.deadlines,
        query={"bool": {"filter": filters}},
        sort=[{"published_at": "desc"}],
        size=LATENCY_SAMPLE,
        source_includes=["decision_date", "published_at"],
        ignore_unavailable=True,
    )
    days: Counter[int] = Counter()
    for hit in found["hits"]["hits"]:
        doc = hit["_source"]
        published = datetime.fromisoformat(doc["published_at"]).astimezone(CHINA_TZ).date()
        taken = max(0, calendar.working_days_between(date.fromisoformat(doc["decision_date"]), published))
        days[min(taken, 15)] += 1
    labels = [str(n) if n < 15 else "15+" for n in range(16)]
    return {"days": labels, "counts": [days.get(n, 0) for n in range(16)], "sample": sum(days.values())}


async def dead_letter_series(es: AsyncElasticsearch, names: IndexNames, department: str = "") -> dict[str, Any]:
    query = _scoped("department_code", department)
    found = await es.search(
        index=names.rejections,
        query=query,
        size=0,
        aggs={
            "days": {
                "date_histogram": {"field": "rejected_at", "calendar_interval": "day", "time_zone": "+08:00"},
                "aggs": {"reasons": {"terms": {"field": "problem_codes", "size": 8}}},
            },
            "reasons": {"terms": {"field": "problem_codes", "size": 20}},
        },
        ignore_unavailable=True,
    )
    aggs = found.get("aggregations", {})
    days = aggs.get("days", {}).get("buckets", [])
    series: dict[str, list[int]] = {}
    for index, day in enumerate(days):
        for bucket in day["reasons"]["buckets"]:
            series.setdefault(bucket["key"], [0] * len(days))[index] = bucket["doc_count"]
    totals = [
        {"reason": b["key"], "label": problem_label(b["key"]), "count": b["doc_count"]}
        for b in aggs.get("reasons", {}).get("buckets", [])
    ]
    labels = {code: problem_label(code) for code in series}
    return {"days": [d["key_as_string"][:10] for d in days], "series": series, "labels": labels, "totals": totals}


async def alerts_feed(
    es: AsyncElasticsearch, names: IndexNames, department: str = "", limit: int = ALERTS_SHOWN
) -> list[dict[str, Any]]:
    # A department's alerts are those it is told of: about its licences, and about subjects it watches.
    query = _scoped("notify_department_code", department)
    alerts = await _sources(es, names.alerts, query, [{"raised_at": "desc"}, {"alert_id": "asc"}], limit)
    for alert in alerts:
        # A subject without a unified code is grouped by a keyed hash of its ID number, which tells a supervisor
        # nothing; the licence's 文号 identifies it to the department that must act.
        code = str(alert.get("subject_code") or "")
        if is_person_key(code):
            alert["subject"], alert["subject_code"] = "（无统一社会信用代码）", ""  # nor is the hash exported
        else:
            alert["subject"] = code
        alert["raised"] = beijing_time(alert.get("raised_at"))
        alert["severity_zh"] = SEVERITIES.get(alert.get("severity", ""), alert.get("severity", ""))
    return alerts


SEVERITIES = {"high": "高", "medium": "中", "low": "低"}


async def _page(request: Request, who: Supervisor, department: str) -> Response:
    """The front page (department "") or one department's drill-down: the same sections, filtered."""
    es, names = _es(request), _names(request)
    calendar, today = request.app.state.parts["calendar"], _today(request)
    states = OPEN_STATES if department else ("overdue", "at_risk")  # the city-wide pending list is long
    context = {
        "who": who.name,
        "today": today.isoformat(),
        "counts": await state_counts(es, names, department),
        "departments": await department_names(es, names),
        "lists": {state: await open_items(es, names, state, today, calendar, department) for state in states},
        "titles": STATE_TITLES,
        "dead_letters": (await dead_letter_series(es, names, department))["totals"],
        "alerts": await alerts_feed(es, names, department),
        "department": department,
    }
    page: Response = request.app.state.templates.TemplateResponse(request, "dashboard.html", context)
    return page


@router.get("", response_class=HTMLResponse)
async def overview(request: Request, who: Signed) -> Response:
    return await _page(request, who, "")


@router.get("/department/{code}", response_class=HTMLResponse)
async def drill_down(request: Request, code: str, who: Signed) -> Response:
    return await _page(request, who, code)


@router.get("/api/on-time")
async def api_on_time(request: Request, _who: Signed, department: str = "") -> dict[str, Any]:
    es, names = _es(request), _names(request)
    data = await on_time_series(es, names, department)
    known = await department_names(es, names)
    kinds = {"licence": "行政许可", "penalty": "行政处罚"}
    data["series"] = {known.get(key) or kinds.get(key, key): values for key, values in data["series"].items()}
    return data


@router.get("/api/latency")
async def api_latency(request: Request, _who: Signed, department: str = "") -> dict[str, Any]:
    return await latency_histogram(_es(request), _names(request), request.app.state.parts["calendar"], department)


@router.get("/api/dead-letters")
async def api_dead_letters(request: Request, _who: Signed, department: str = "") -> dict[str, Any]:
    return await dead_letter_series(_es(request), _names(request), department)


EXPORTS = ("overdue", "at_risk", "pending", "departments", "dead_letters", "alerts")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A cell Excel shows as the text it is: departments write the names and 文号 these lists hold, and a cell
    starting with = + - @ would run as a formula on the supervisor's machine (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@router.get("/export/{name}.csv")
async def export(request: Request, name: str, _who: Signed, department: str = "") -> Response:
    """Any list of the dashboard as CSV (UTF-8 with BOM, for Excel)."""
    es, names = _es(request), _names(request)
    rows: list[dict[str, Any]]
    if name in OPEN_STATES:
        calendar = request.app.state.parts["calendar"]
        rows = await open_items(es, names, name, _today(request), calendar, department, limit=EXPORT_LIMIT)
    elif name == "departments":
        rows = (await state_counts(es, names, department))["rows"]
    elif name == "dead_letters":
        rows = (await dead_letter_series(es, names, department))["totals"]
    elif name == "alerts":
        rows = [
            {
                k: "、".join(map(str, v)) if isinstance(v, list) else v
                for k, v in alert.items()
                if not isinstance(v, dict)
            }
            for alert in await alerts_feed(es, names, department, limit=EXPORT_LIMIT)
        ]
    else:
        raise HTTPException(404, f"没有名为 {name} 的列表（可导出：{'、'.join(EXPORTS)}）")
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    # Only a code's letters and digits go into the header: anything else (中, CR LF) cannot travel in it.
    named = department if department.isascii() and department.isalnum() else ""
    filename = f"sgs-{name}{'-' + named if named else ''}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
