"""The gateway's HTTP API (FastAPI): per-department keys, checks before anything is produced, clear errors.

- `POST /v1/decisions` — one decision or a batch; 202 once the broker acknowledged every one of them.
- `POST /v1/decisions/{decision_id}/revoke` — withdraw one of the department's own decisions.
- `POST /v1/imports` — a national-standard template file (CSV, XLSX, JSON lines), imported row by row.
- `GET /v1/decisions/{decision_id}/status` — received / rejected (with reasons) / published, and the deadline.
- `GET /v1/feedback` — the department's pending, at-risk and overdue items, and rejections not yet corrected.

The gateway also posts each department's rejections and at-risk or overdue deadlines to its webhook, if it
registered one (`sgs.connectors.webhooks`).

Every request carries `Authorization: Bearer <key>` (`sgs departments add`). A department acts only as itself:
each record's 数据来源单位统一社会信用代码 must be its own code (403 otherwise), and it sees only its own
decisions. Errors: 401 no or bad key, 403 not its own, 413 body or batch too large, 422 malformed or invalid
(every problem of every record, nothing produced), 429 over its rate (Retry-After), 503 the broker is down or did
not acknowledge (nothing of the request half-published when the broker was known to be down).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, Tag
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sgs.config import Settings
from sgs.connectors import feedback, search_client
from sgs.connectors.api_docs import mount_docs
from sgs.connectors.departments import Department, DepartmentDirectory
from sgs.connectors.gateway import metrics
from sgs.connectors.gateway.limits import TokenBuckets
from sgs.connectors.gateway.producer import BrokerUnavailableError, GatewayProducer
from sgs.connectors.importer import PartlyPublishedError, import_file
from sgs.connectors.publisher import Prepared, Versions, prepare_revoke, prepare_upsert, untie, validation_options
from sgs.connectors.search_indices import IndexNames
from sgs.connectors.templates import FORMATS, TemplateError
from sgs.connectors.webhooks import WebhookNotifier
from sgs.core.calendar import WorkingCalendar, load_calendar
from sgs.core.codes import normalize_code
from sgs.core.docnum import canonical_decision_id
from sgs.core.problems import Problem

Clock = Callable[[], datetime]
MAX_VERSION = 2**63 - 1  # an Avro long: a larger version could not be encoded (a 500 instead of a 422)
DECISION_SHAPES = "一条决定为 kind、record、version，一批为 decisions；"


MALFORMED = "请求体不是有效的JSON，或不符合接口格式（见 /docs）"
HTTP_ERRORS = {
    404: ("request.not_found", "没有这个接口（见 /docs）"),
    405: ("request.method", "该接口不支持此请求方法（见 /docs）"),
}


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def department_of(header: str, directory: DepartmentDirectory) -> Department:
    """The department whose key an Authorization header carries (GatewayError 401 otherwise)."""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise GatewayError(401, "auth.missing", "缺少凭证：请在请求头中使用 Authorization: Bearer <密钥>")
    found = directory.authenticate(key)
    if found is None:
        raise GatewayError(401, "auth.invalid", "密钥无效或已吊销，请联系平台运维人员")
    return found


async def current_department(request: Request) -> Department:
    """The department `AuthenticateFirst` found for the request (every route that needs one is under /v1/)."""
    department: Department = request.state.department
    return department


def error_response(exc: GatewayError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    body = {"error": {"code": exc.code, "message": exc.message, **exc.extra}}
    return JSONResponse(body, status_code=exc.status, headers=headers)


class AuthenticateFirst:
    """Answers 401 to a /v1/ request without a valid key before a byte of its body is read: an unknown client
    must not make the gateway receive and parse bodies (up to the size limit) it will refuse anyway. The
    department found goes to the endpoint in the request's state (`current_department`)."""

    def __init__(self, app: ASGIApp, directory: Callable[[], DepartmentDirectory]) -> None:
        self.app, self.directory = app, directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            try:
                department = department_of(Headers(scope=scope).get("authorization", ""), self.directory())
            except GatewayError as refused:
                response = error_response(refused)
                response.headers["Connection"] = "close"  # nor is the body read after the answer
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["department"] = department
        await self.app(scope, receive, send)


Caller = Annotated[Department, Depends(current_department)]


class DecisionIn(BaseModel):
    # Unknown names are refused, not dropped: a body with both `record` and `decisions` was taken as a batch
    # and its single record silently lost.
    model_config = ConfigDict(extra="forbid")

    kind: Literal["licence", "penalty"] = Field(description="licence 行政许可 / penalty 行政处罚")
    record: dict[str, Any] = Field(description="字段名（英文名、国家标准代码或中文名）→ 值")
    # Strict: "7" or true as a version is a client's mistake to be told of, not a number to guess.
    version: StrictInt | None = Field(
        None, ge=1, le=MAX_VERSION, description="版本号（每个决定单调递增）；缺省为接收时刻的毫秒数"
    )


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: list[DecisionIn]


def _body_shape(body: Any) -> str:
    """Which model a body is read as: a batch names `decisions`, anything else is one decision. Chosen before
    validation, so a refused body is told the problems of its own shape, not those of both."""
    return "batch" if isinstance(body, dict) and "decisions" in body else "one"


DecisionsIn = Annotated[
    Annotated[DecisionIn, Tag("one")] | Annotated[BatchIn, Tag("batch")], Discriminator(_body_shape)
]


def _field_path(loc: Sequence[object]) -> str:
    """Where in the body a problem is, as a clerk reads it: `decisions.0.x` (the body and the shape left out)."""
    path = [str(part) for part in loc]
    if path[:1] == ["body"]:
        path = path[2:] if path[1:2] in (["one"], ["batch"]) else path[1:]
    return ".".join(path) or "（请求体）"


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: StrictInt | None = Field(None, ge=1, le=MAX_VERSION)


class Accepted(BaseModel):
    decision_id: str
    event_id: str
    version: int
    partition: int | None
    offset: int | None


class AcceptedResponse(BaseModel):
    accepted: list[Accepted]


def create_app(
    settings: Settings,
    *,
    directory: DepartmentDirectory | None = None,
    producer: GatewayProducer | None = None,
    elasticsearch: AsyncElasticsearch | None = None,
    calendar: WorkingCalendar | None = None,
    clock: Clock = lambda: datetime.now(UTC),
    feedback_clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    webhooks: bool = True,
) -> FastAPI:
    """The gateway app. Parts not given are made from `settings` when the app starts (and closed when it stops).
    `clock` stamps and versions submissions, as the SDK's does; `feedback_clock` (default: `clock`) is "today" in
    the departments' feedback — the worker's clock (`SGS_CLOCK`), so that both count days late alike."""
    feedback_now = feedback_clock or clock
    names = IndexNames(settings.index_prefix)
    buckets = TokenBuckets(settings.gateway_rate, settings.gateway_burst)
    parts: dict[str, Any] = {}
    versions = Versions()  # default versions never tie for one decision (one gateway process, one clock)
    options = validation_options(settings)  # read once, at start: a broken rules file stops the gateway here

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        owned_directory = directory is None
        parts["directory"] = directory or DepartmentDirectory(settings).load()
        if owned_directory:
            parts["directory"].follow()
        parts["producer"] = producer or GatewayProducer(settings)
        if producer is None:
            parts["producer"].start()
        parts["es"] = elasticsearch or search_client.async_client(settings.elasticsearch, request_timeout=10)
        parts["calendar"] = calendar or load_calendar(settings.calendar_dir)
        notifier = WebhookNotifier(settings, parts["directory"]) if webhooks else None
        if notifier is not None:
            notifier.start()
        try:
            yield
        finally:
            if notifier is not None:
                notifier.close()
            if owned_directory:
                parts["directory"].close()
            if producer is None:
                parts["producer"].close()
            if elasticsearch is None:
                await parts["es"].close()

    app = FastAPI(
        title="sgs 双公示数据报送网关",
        version="1",
        description=__doc__,
        lifespan=lifespan,
        docs_url=None,  # served below from local files: these machines reach no CDN
        redoc_url=None,
    )
    app.state.parts = parts
    mount_docs(app, "sgs 报送网关 API", settings.web_assets)

    @app.exception_handler(GatewayError)
    async def gateway_error(_request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(ApiError)
    @app.exception_handler(TransportError)
    async def search_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        message = "检索库暂不可用（状态与反馈查询），请稍后重试；报送不受影响"
        body = {"error": {"code": "search.unavailable", "message": message, "detail": str(exc)[:300]}}
        return JSONResponse(body, 503)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"where": list(e.get("loc", ())), "problem": e.get("msg", "")} for e in exc.errors()][:50]
        unknown = [_field_path(e.get("loc", ())) for e in exc.errors() if e.get("type") == "extra_forbidden"]
        message = MALFORMED
        if unknown:
            shapes = DECISION_SHAPES if request.url.path == "/v1/decisions" else ""
            message = f"请求体含接口未定义的字段：{'、'.join(unknown[:10])}（{shapes}见 /docs）"
        return JSONResponse({"error": {"code": "request.malformed", "message": message, "errors": errors}}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own refusals in the gateway's error format: a body it could not parse at all (JSON nested
        past Python's recursion limit) is malformed like any other; unknown paths and methods say so."""
        if exc.status_code == 400:
            errors = [{"where": ["body"], "problem": str(exc.detail)}]
            return JSONResponse({"error": {"code": "request.malformed", "message": MALFORMED, "errors": errors}}, 422)
        code, message = HTTP_ERRORS.get(exc.status_code, (f"http.{exc.status_code}", str(exc.detail)))
        return JSONResponse({"error": {"code": code, "message": message}}, exc.status_code, headers=exc.headers)

    @app.exception_handler(BodyTooLargeError)
    async def too_large(_request: Request, exc: BodyTooLargeError) -> JSONResponse:
        return JSONResponse({"error": {"code": "request.too_large", "message": exc.detail}}, 413)

    def body_limit(path: str) -> int:
        return settings.gateway_max_upload_bytes if path == "/v1/imports" else settings.gateway_max_body_bytes

    app.add_middleware(BodyLimit, limit_for=body_limit)
    app.add_middleware(AuthenticateFirst, directory=lambda: parts["directory"])  # runs before BodyLimit

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None)
        if route is None:  # not routed: refused by AuthenticateFirst, or no such path
            route = "/v1/*" if request.url.path.startswith("/v1/") else "other"
        metrics.REQUESTS.labels(route, str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
        return response

    def throttle(caller: Department, cost: int) -> None:
        wait = buckets.take(caller.code, cost, monotonic())
        if wait == math.inf:
            raise GatewayError(413, "batch.too_large", f"一次提交 {cost} 条，超过每秒上限的突发量，请分批提交")
        if wait > 0:
            raise GatewayError(429, "rate.limited", "提交过于频繁，请稍后再试", retry_after=max(1, math.ceil(wait)))

    async def produce(prepared: list[Prepared]) -> AcceptedResponse:
        department = prepared[0].envelope["department_code"] if prepared[0].envelope else ""
        try:
            delivered = await parts["producer"].send(prepared)
        except BrokerUnavailableError as exc:
            metrics.DECISIONS.labels(department, "failed").inc(len(prepared))
            raise GatewayError(
                503, "broker.unavailable", f"消息队列暂不可用，未提交任何数据，请稍后重试：{exc}"
            ) from exc
        failed = [(p, d) for p, d in zip(prepared, delivered, strict=True) if d.error is not None]
        metrics.DECISIONS.labels(department, "accepted").inc(len(prepared) - len(failed))
        metrics.DECISIONS.labels(department, "failed").inc(len(failed))
        if failed:
            items = [{"decision_id": p.receipt.decision_id, "error": d.error} for p, d in failed]
            raise GatewayError(
                503,
                "broker.not_acknowledged",
                f"消息队列未确认其中 {len(failed)} 条（共 {len(prepared)} 条），请原样重试：重复提交不会重复发布",
                items=items,
            )
        return AcceptedResponse(
            accepted=[
                Accepted(
                    decision_id=str(p.receipt.decision_id),
                    event_id=p.receipt.event_id,
                    version=p.receipt.version,
                    partition=d.partition,
                    offset=d.offset,
                )
                for p, d in zip(prepared, delivered, strict=True)
            ]
        )

    @app.post("/v1/decisions", status_code=202, response_model=AcceptedResponse, tags=["报送"])
    async def post_decisions(body: DecisionsIn, caller: Caller) -> AcceptedResponse:
        """报送一条或一批决定 (one decision, or `{"decisions": [...]}`): all are checked before any is sent."""
        items = body.decisions if isinstance(body, BatchIn) else [body]
        if not items:
            raise GatewayError(422, "batch.empty", "没有要报送的决定")
        if len(items) > settings.gateway_max_batch:
            raise GatewayError(
                413, "batch.too_large", f"一批 {len(items)} 条，超过上限 {settings.gateway_max_batch} 条，请分批提交"
            )
        throttle(caller, len(items))
        now = clock()
        prepared = [
            prepare_upsert(
                caller.code, item.kind, item.record, source="gateway", now=now, version=item.version, options=options
            )
            for item in items
        ]
        refused = [(index, p) for index, p in enumerate(prepared) if p.envelope is None]
        if refused:
            not_own = any(problem.code == "department.not_own" for _, p in refused for problem in p.receipt.problems)
            details = [
                {
                    "index": index,
                    "decision_id": p.receipt.decision_id,
                    "problems": [problem.as_dict() for problem in p.receipt.problems],
                }
                for index, p in refused
            ]
            metrics.DECISIONS.labels(caller.code, "not_own" if not_own else "invalid").inc(len(items))
            if not_own:
                raise GatewayError(
                    403,
                    "department.not_own",
                    "只能报送本部门的决定：数据来源单位统一社会信用代码须为本部门代码",
                    items=details,
                )
            raise GatewayError(422, "record.invalid", f"{len(refused)} 条决定未通过校验，整批均未提交", items=details)
        for item, submission in zip(items, prepared, strict=True):
            if item.version is None:  # a decision named twice in a batch: the later item wins
                untie(submission, versions)
        return await produce(prepared)

    @app.post(
        "/v1/decisions/{decision_id:path}/revoke", status_code=202, response_model=AcceptedResponse, tags=["报送"]
    )
    async def revoke(decision_id: str, caller: Caller, body: RevokeIn | None = None) -> AcceptedResponse:
        """撤回本部门的一条决定 (withdraw it from public view; the archive keeps it)."""
        throttle(caller, 1)
        # Owned, produced and answered under the id decisions are keyed by (the 文号 in any brackets, the code in
        # any case): under the path's own spelling the revoke named no decision and withdrew nothing.
        canonical = canonical_decision_id(decision_id)
        if canonical is None:  # not a decision id at all: a 422, before asking whose it is
            problem = _not_a_decision_id(decision_id, "revoke.decision_id")
            raise GatewayError(422, "revoke.decision_id", problem["message"], problems=[problem])
        version = body.version if body else None
        prepared = prepare_revoke(caller.code, canonical, source="gateway", now=clock(), version=version)
        if version is None:
            untie(prepared, versions)
        if prepared.envelope is None:  # the SDK's own checks refused it
            problems = [p.as_dict() for p in prepared.receipt.problems]
            raise GatewayError(422, problems[0]["code"], problems[0]["message"], problems=problems)
        await require_owner(canonical, caller)
        return await produce([prepared])

    async def require_owner(decision_id: str, caller: Department) -> dict[str, Any] | None:
        status = await feedback.decision_status(parts["es"], names, decision_id, caller.code)
        owners = set(status["owners"]) if status else feedback.owner_of(decision_id, None, [])
        if caller.code not in {normalize_code(o) for o in owners}:
            raise GatewayError(403, "department.not_own", "该决定不属于本部门，不能操作或查看")
        return status

    @app.get("/v1/decisions/{decision_id:path}/status", tags=["反馈"])
    async def decision_status(decision_id: str, caller: Caller) -> dict[str, Any]:
        """一条决定的处理状态：received / rejected（附原因）/ published …，以及期限状态。"""
        canonical = canonical_decision_id(decision_id)
        if canonical is None:  # no decision could have it: said so, rather than "not yet known" or "not yours"
            problem = _not_a_decision_id(decision_id, "status.decision_id")
            raise GatewayError(422, "status.decision_id", problem["message"], problems=[problem])
        status = await require_owner(canonical, caller)
        if status is None:
            raise GatewayError(404, "decision.unknown", "平台尚无该决定的记录（刚提交的决定通常几秒内可查）")
        return {key: value for key, value in status.items() if key != "owners"}

    @app.get("/v1/feedback", tags=["反馈"])
    async def department_feedback(caller: Caller) -> dict[str, Any]:
        """本部门待公示、临期、逾期的决定，以及被退回且尚未更正的报送。"""
        return await feedback.department_report(
            parts["es"], names, caller.code, now=feedback_now(), calendar=parts["calendar"]
        )

    @app.post("/v1/imports", tags=["报送"])
    async def post_import(
        caller: Caller,
        file: Annotated[UploadFile, File(description="CSV（UTF-8或GBK）、XLSX 或 JSON lines 模板文件")],
        kind: Annotated[Literal["licence", "penalty"] | None, Query()] = None,
        dry_run: Annotated[bool, Query(description="只校验，不发布")] = False,
    ) -> dict[str, Any]:
        """导入国家标准模板文件：逐行校验并发布，返回汇总与未发布的行。"""
        suffix = Path(file.filename or "").suffix.lower()
        if suffix not in FORMATS:
            raise GatewayError(
                422, "import.format", f"不支持的文件类型“{suffix}”（可用：{'、'.join(sorted(FORMATS))}）"
            )
        if not dry_run and not parts["producer"].broker_up:
            raise GatewayError(503, "broker.unavailable", "消息队列暂不可用，未导入任何数据，请稍后重试")
        throttle(caller, 1)
        read = 0

        def count(rows: int) -> None:
            nonlocal read
            read = rows

        with tempfile.TemporaryDirectory(prefix="sgs-import-") as folder:
            (Path(folder) / "in").mkdir()  # beside the report, whatever the file is called
            path = Path(folder) / "in" / _local_name(file.filename or "", suffix)
            await _save(file, path, settings.gateway_max_upload_bytes)
            try:
                summary = await asyncio.to_thread(
                    import_file,
                    path,
                    department_code=caller.code,
                    kind=kind,
                    publish_to=None if dry_run else settings,
                    producer_config={"message.timeout.ms": 60_000},
                    report=Path(folder) / "report.csv",
                    progress=count,
                    display_name=file.filename,
                    options=options,
                )
            except PartlyPublishedError as exc:  # said in numbers too: the rows before were published
                counts = {"read": exc.summary.read, "published": exc.summary.published}
                raise GatewayError(422, "import.unreadable", str(exc), **counts) from exc
            except TemplateError as exc:
                raise GatewayError(422, "import.unreadable", str(exc)) from exc
            finally:
                if not dry_run:
                    # Admitted for one token, charged for every row read (also of a file unreadable past some
                    # row: the rows before were published): a file is as many decisions as a batch.
                    buckets.charge(caller.code, max(0, read - 1), monotonic())
        result = summary.as_dict()
        result.pop("report")
        return result

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        up = bool(parts.get("producer") and parts["producer"].broker_up)
        return JSONResponse({"broker": "up" if up else "down"}, status_code=200 if up else 503)

    return app


def _local_name(filename: str, suffix: str) -> str:
    """The name the upload is saved under, so that what the reader says names the clerk's file: its own name
    without any folder (never a way out of the temporary folder), or upload<suffix> when that is unusable."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", "..") or not name.isprintable() or len(name.encode("utf-8", "replace")) > 200:
        return f"upload{suffix}"
    return name


async def _save(upload: UploadFile, path: Path, limit: int) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(limit)
            out.write(chunk)


def _not_a_decision_id(decision_id: str, code: str) -> dict[str, str]:
    """The problem of a path id that names no decision, as the SDK's checks word it."""
    message = f"“{decision_id[:200]}”不是决定标识（licence 或 penalty:机关统一社会信用代码:文号）"
    return Problem("decision_id", code, message).as_dict()


class BodyTooLargeError(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求体超过上限 {limit:,} 字节；请分批提交")


class BodyLimit:
    """Refuses bodies over the limit of their path, whether they declare a Content-Length or stream chunks."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            error = BodyTooLargeError(limit)
            body = {"error": {"code": "request.too_large", "message": error.detail}}
            await JSONResponse(body, 413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, counted, send)
