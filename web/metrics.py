"""Prometheus metrics of the web process (public search and the supervisors' dashboard)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("sgs_web_requests_total", "Web requests, by route and HTTP status.", ["route", "status"])
SEARCH_SECONDS = Histogram(
    "sgs_web_search_duration_seconds",
    "Time to answer a public search (Elasticsearch included).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
