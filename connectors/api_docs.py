"""Swagger UI for the gateway's and the portal's `/docs`, from npm's swagger-ui-dist (`make setup`; 5.x reads the
OpenAPI 3.1 FastAPI writes): these machines reach no CDN, and the portal's Content-Security-Policy allows no
inline script, so the page starts the UI from a script file of its own instead of FastAPI's inline one."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

_START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
});
"""


def mount_docs(app: FastAPI, title: str, assets: Path) -> None:
    """`/docs` from `assets` (a node_modules folder); without Swagger UI there, /docs says how to get it."""
    dist = assets / "swagger-ui-dist"
    if not (dist / "swagger-ui-bundle.js").is_file():

        @app.get("/docs", include_in_schema=False)
        async def no_docs() -> Response:
            message = f"接口文档所需的 Swagger UI 未安装（{dist}）：请运行 make setup；接口定义见 /openapi.json"
            return Response(message, status_code=503, media_type="text/plain; charset=utf-8")

        return
    app.mount("/docs-static", StaticFiles(directory=dist), name="docs-static")
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="stylesheet" href="/docs-static/swagger-ui.css"><link rel="icon" href="/docs-static/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/docs-static/swagger-ui-bundle.js"></script><script src="/docs-start.js"></script>
</body></html>
"""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs-start.js", include_in_schema=False)
    async def docs_start() -> Response:
        return Response(_START, media_type="text/javascript")
