"""`sgs search QUERY`: the public search from a terminal, through the portal's JSON API."""

from __future__ import annotations

import json
import sys

import click

from sgs.config import Settings


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("query", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(["licence", "penalty"]), help="只查行政许可或行政处罚。")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--size", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="原样输出 API 的 JSON。")
@click.option("--url", help="公示网站地址（缺省 http://SGS_WEB_HOST:SGS_WEB_PORT）。")
def search(query: tuple[str, ...], kind: str | None, page: int, size: int, as_json: bool, url: str | None) -> None:
    """检索公开的行政许可和行政处罚：名称、统一社会信用代码、文号或关键词。

    Searches the public record through GET /api/v1/search of `sgs web` (only public, masked data). Exit 1 when
    nothing is found, 2 when the portal refused the query or cannot be reached.
    """
    import httpx

    settings = Settings.from_env()
    base = url or f"http://{settings.web_host}:{settings.web_port}"
    params = {"q": " ".join(query), "page": str(page), "size": str(size)} | ({"kind": kind} if kind else {})
    try:
        response = httpx.get(f"{base}/api/v1/search", params=params, timeout=15)
    except httpx.HTTPError as exc:
        click.echo(f"错误：无法连接公示网站 {base}：{exc}", err=True)
        sys.exit(2)
    body = response.json()
    if response.status_code != 200:
        click.echo(f"错误：{body.get('error', {}).get('message', response.text[:200])}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        more = "+" if body.get("total_relation") == "gte" else ""  # counted up to the last reachable result
        click.echo(f"共 {body['total']:,}{more} 条（第 {body['page']} 页）")
        for record in body["results"]:
            kind_zh = "行政许可" if record["kind"] == "licence" else "行政处罚"
            click.echo(f"[{kind_zh}] {record.get('subject_name', '')}  {record.get('subject_code', '')}")
            where = (record.get(name, "") for name in ("document_number", "authority_name", "decision_date"))
            click.echo("    " + "  ".join(where))
    sys.exit(0 if body["total"] else 1)
