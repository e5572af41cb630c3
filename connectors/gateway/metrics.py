"""Prometheus metrics of the gateway process (its requests, the decisions it takes in, its webhook deliveries)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("sgs_gateway_requests_total", "Gateway requests, by route and HTTP status.", ["route", "status"])
REQUEST_SECONDS = Histogram("sgs_gateway_request_duration_seconds", "Gateway request durations, by route.", ["route"])
DECISIONS = Counter(
    "sgs_gateway_decisions_total",
    "Decisions received by the gateway, by department and outcome (accepted, invalid, not_own, failed).",
    ["department", "outcome"],
)
WEBHOOK_DELIVERIES = Counter(
    "sgs_webhook_deliveries_total",
    "Webhook notifications, by department and outcome (delivered, failed; deferred: not tried after a failure).",
    ["department", "outcome"],
)
