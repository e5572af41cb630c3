"""The web process (`sgs web`): the public search portal and its JSON API, and the supervisors' dashboard.

Public (read-only, rate limited per client, cacheable for 30 s):

- `GET /` — the search page (信用信息公示查询), server-rendered, Chinese;
- `GET /entity/{code}` — every public licence and penalty of one unified code, newest first;
- `GET /api/v1/search` — the same search as JSON (`q`, `code`, `document_number`, `kind`, `department`,
  `category`, `date_from`, `date_to`, `sort`, `page`, `size`), with highlighted matches and the total: exact
  up to 10,000 (`total_relation` "eq"), else 10,000 and "gte" (no page reaches past the 10,000th result);
- `GET /api/v1/entities/{code}` — an entity's records as JSON.

Only the public indices are read (the masked public view; withdrawn decisions filtered out). Every page is
sent with a Content-Security-Policy that allows no inline script and nothing from elsewhere; templates escape
every value, and highlights (found here, in the hits' public values: `search.highlight`) are escaped before our
<mark> tags go in.

The dashboard (`/dashboard`, `sgs.web.dashboard`) is for supervisors only (HTTP Basic, `sgs supervisors`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from sgs.config import Settings
from sgs.connectors import search_client
from sgs.connectors.api_docs import mount_docs
from sgs.connectors.gateway.limits import TokenBuckets
from sgs.connectors.search_indices import IndexNames, public_query_filter
from sgs.core.calendar import load_calendar
from sgs.core.codes import check_uscc, normalize_code
from sgs.core.fields import KINDS, kind_table
from sgs.web import search
from sgs.web.guard import FastJSONResponse, PublicGuard
from sgs.web.supervisors import SupervisorKeys

HERE = Path(__file__).resolve().parent
ENTITY_LIMIT = 200


HTTP_MESSAGES = {404: "没有这个页面或接口", 405: "不支持此请求方法"}


class PublicError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def create_app(
    settings: Settings,
    *,
    elasticsearch: AsyncElasticsearch | None = None,
    supervisors: SupervisorKeys | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    monotonic: Callable[[], float] = time.monotonic,
) -> FastAPI:
    names = IndexNames(settings.index_prefix)
    buckets = TokenBuckets(settings.web_rate, settings.web_burst)
    parts: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        parts["es"] = elasticsearch or search_client.async_client(settings.elasticsearch, request_timeout=10)
        parts["calendar"] = load_calendar(settings.calendar_dir)
        try:
            yield
        finally:
            if elasticsearch is None:
                await parts["es"].close()

    app = FastAPI(
        title="sgs 信用信息公示查询", version="1", description=__doc__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    mount_docs(app, "sgs 信用信息公示查询 API", settings.web_assets)
    app.state.parts = parts
    app.state.settings = settings
    app.state.clock = clock
    app.state.supervisors = supervisors or SupervisorKeys(settings.supervisors_file)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["mark"] = _marked
    templates.env.globals.update(
        kinds={kind: kind_table(kind).zh for kind in KINDS}, categories=search.PENALTY_CATEGORIES
    )
    app.state.templates = templates
    echarts = settings.web_assets / "echarts" / "dist"
    if echarts.is_dir():  # before /static, which would answer for it otherwise
        app.mount("/static/vendor/echarts", StaticFiles(directory=echarts), name="echarts")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_middleware(PublicGuard, buckets=buckets, monotonic=monotonic)

    @app.exception_handler(PublicError)
    async def public_error(request: Request, exc: PublicError) -> Response:
        if request.url.path.startswith("/api/"):
            return FastJSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)
        page = templates.TemplateResponse(
            request, "error.html", {"message": exc.message, "status": exc.status}, status_code=exc.status
        )
        return page

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI's own refusals (unknown page, method) and the dashboard's, as the portal's other errors:
        Chinese, an HTML page for pages, the JSON error format for /api/ (the headers kept: a 401 asks for the
        supervisors' credentials)."""
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        message = detail or HTTP_MESSAGES.get(exc.status_code, f"请求无法处理（HTTP {exc.status_code}）")
        response = await public_error(request, PublicError(exc.status_code, f"http.{exc.status_code}", message))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(ApiError)
    @app.exception_handler(TransportError)
    async def search_down(request: Request, _exc: Exception) -> Response:
        return await public_error(request, PublicError(503, "search.unavailable", "检索服务暂不可用，请稍后再试"))

    async def run_search(request: Request) -> tuple[search.SearchParams, dict[str, Any]]:
        try:
            params = search.parse(dict(request.query_params))
        except search.SearchError as exc:
            raise PublicError(422, f"query.{exc.field}", exc.message) from exc
        if params.empty:
            return params, {"total": 0, "total_relation": "eq", "results": []}
        found = await parts["es"].search(index=search.indices(names, params), **search.build(params))
        results = [search.hit_view(hit, params.q) for hit in found["hits"]["hits"]]
        total = found["hits"]["total"]
        return params, {"total": total["value"], "total_relation": total["relation"], "results": results}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> Response:
        params, found = await run_search(request)
        pages = _pages(params, found["total"])
        if found["total_relation"] == "gte":  # counted up to search.MAX_WINDOW only: "共 10,000+ 条"
            found = {**found, "total": f"{found['total']:,}+"}
        context = {"params": params, "found": found, "pages": pages, "labels": search.labels}
        return templates.TemplateResponse(request, "search.html", context)

    # A response directly: the answer is plain JSON data already, and FastAPI's encoder walking every hit
    # was the largest cost of a search.
    @app.get("/api/v1/search", tags=["公示查询"], response_class=FastJSONResponse)
    async def api_search(request: Request) -> Response:
        """检索行政许可和行政处罚信息（只读；只返回公开、已脱敏的信息）。"""
        params, found = await run_search(request)
        return FastJSONResponse({"page": params.page, "size": params.size, **found})

    async def entity_records(request: Request, code: str) -> tuple[str, int, list[dict[str, Any]]]:
        """The code normalized, how many public decisions it has, and the newest ENTITY_LIMIT of them."""
        if request.query_params:  # as the search does: a parameter it would ignore is refused, not dropped
            unknown = "、".join(name[:40] for name in sorted(request.query_params))
            raise PublicError(422, "query.unknown", f"不支持的参数：{unknown}（此接口没有查询参数）")
        normalized = normalize_code(code)
        if not check_uscc(normalized).valid:
            raise PublicError(422, "entity.code", "不是有效的统一社会信用代码")
        found = await parts["es"].search(
            index=",".join(names.public_alias(kind) for kind in KINDS),
            query={"bool": {"filter": [public_query_filter(), {"term": {"subject_code": normalized}}]}},
            sort=[{"decision_date": "desc"}, {"decision_id": "asc"}],
            size=ENTITY_LIMIT,
            track_total_hits=True,
        )
        total: int = found["hits"]["total"]["value"]
        return normalized, total, [search.hit_view(hit) for hit in found["hits"]["hits"]]

    @app.get("/entity/{code}", response_class=HTMLResponse, include_in_schema=False)
    async def entity_page(request: Request, code: str) -> Response:
        normalized, total, records = await entity_records(request, code)
        name = records[0].get("subject_name", "") if records else ""
        context = {"code": normalized, "name": name, "total": total, "records": records, "labels": search.labels}
        return templates.TemplateResponse(request, "entity.html", context)

    @app.get("/api/v1/entities/{code}", tags=["公示查询"], response_class=FastJSONResponse)
    async def api_entity(request: Request, code: str) -> Response:
        """一个统一社会信用代码的公开许可与处罚，从新到旧（`total` 为总数，`results` 至多最新的200条）。"""
        normalized, total, records = await entity_records(request, code)
        return FastJSONResponse({"code": normalized, "total": total, "results": records})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    from sgs.web.dashboard import router

    app.include_router(router)
    return app


def _marked(fragments: list[str] | None) -> Markup:
    """Highlight fragments made safe by `search.highlight_html` (escaped text, <mark> around matches)."""
    return Markup(" … ".join(fragments or ()))  # noqa: S704 - escaped by search.highlight_html


def _pages(params: search.SearchParams, total: int) -> dict[str, Any]:
    last = max(1, min((total + params.size - 1) // params.size, search.MAX_WINDOW // params.size))
    query = params.as_query()

    def link(page: int) -> str:
        from urllib.parse import urlencode

        return "/?" + urlencode({**query, "page": str(page)})

    return {
        "current": params.page,
        "last": last,
        "previous": link(params.page - 1) if params.page > 1 else None,
        "next": link(params.page + 1) if params.page < last else None,
    }
