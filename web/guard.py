"""What every answer of the web process goes through: the public rate limit, security and caching headers, metrics.

A plain ASGI middleware rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
request's endpoint in a task of its own and streams the response through memory queues, a cost a search
(a few milliseconds of our own work) felt.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sgs.connectors.gateway.limits import TokenBuckets
from sgs.web import metrics

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PUBLIC_CACHE = "public, max-age=30"
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
SEARCH_ROUTES = ("/", "/api/v1/search")


class FastJSONResponse(JSONResponse):
    """JSON written by orjson (UTF-8, as Starlette's own): the portal's answers are hundreds of hits."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


class PublicGuard:
    """Rate limits public requests per client (429 with Retry-After), then, on every answer: the
    Content-Security-Policy and other security headers, a public cache lifetime for successful public GETs
    and `no-store` for everything else, and the request counted (by route and status) and timed (searches)."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.app, self.buckets, self.monotonic = app, buckets, monotonic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        public = not scope["path"].startswith(("/dashboard", "/static", "/metrics"))
        status = 500

        async def guarded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                cacheable = public and scope["method"] == "GET" and status == 200
                headers.setdefault("cache-control", PUBLIC_CACHE if cacheable else "no-store")
            await send(message)

        client = scope["client"][0] if scope.get("client") else "?"
        wait = self.buckets.take(client, 1, self.monotonic()) if public else 0.0
        try:
            if wait > 0:
                refused = FastJSONResponse(
                    {"error": {"code": "rate.limited", "message": "查询过于频繁，请稍后再试"}},
                    429,
                    headers={"Retry-After": str(max(1, int(wait) + 1))},
                )
                await refused(scope, receive, guarded)
            else:
                await self.app(scope, receive, guarded)
        finally:
            # The router has put the matched route in the scope by now (`other` when none matched).
            route = getattr(scope.get("route"), "path", "other")
            metrics.REQUESTS.labels(route, str(status)).inc()
            if route in SEARCH_ROUTES:
                metrics.SEARCH_SECONDS.observe(time.perf_counter() - started)
