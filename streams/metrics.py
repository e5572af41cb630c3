"""Prometheus metrics of the stream workers. Names follow Prometheus conventions (base units, _total)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

SUBMISSIONS = Counter(
    "sgs_submissions_total",
    "Submissions processed, by submitting department, kind and outcome (applied, duplicate, stale, rejected).",
    ["department", "kind", "outcome"],
)
COMMANDS = Counter(
    "sgs_commands_total",
    "The platform's own commands handled (expire, reapply), by type and outcome (expired, reapplied, unchanged).",
    ["type", "outcome"],
)
DEAD_LETTERS = Counter("sgs_dead_letters_total", "Submissions sent to dead letters, by problem code.", ["reason"])
DEADLINE_TRANSITIONS = Counter(
    "sgs_deadline_transitions_total",
    "Deadline state transitions, by department, kind and new state.",
    ["department", "kind", "state"],
)
DEADLINES_OPEN = Gauge(
    "sgs_deadlines_open",
    "Decisions of this worker's partitions not yet published, by department and state (pending, at_risk, overdue).",
    ["department", "state"],
)
CALENDAR_LAST_YEAR = Gauge(
    "sgs_calendar_last_year", "The last year the working-day calendar has an official or operator arrangement for."
)
DEADLINES_PROVISIONAL = Gauge(
    "sgs_deadlines_provisional", "Open decisions whose deadline is provisional (calendar year missing)."
)
PUBLICATION_LATENCY = Histogram(
    "sgs_publication_latency_working_days",
    "Working days from decision to first publication.",
    ["kind"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 15, 20, 30, 60),
)
ES_BULK_SECONDS = Histogram(
    "sgs_elasticsearch_bulk_duration_seconds", "Duration of Elasticsearch bulk requests.", ["index"]
)
ES_RETRIES = Counter("sgs_elasticsearch_retries_total", "Documents retried after 429/5xx or connection errors.")
ES_CONFLICTS = Counter(
    "sgs_elasticsearch_version_conflicts_total", "Writes answered 409: a newer version was already indexed."
)
ES_REJECTED = Counter("sgs_elasticsearch_rejected_total", "Documents Elasticsearch refused (mapping errors).")
CONSUMER_LAG = Gauge(
    "sgs_consumer_lag_messages", "Messages not yet consumed, by topic and partition.", ["topic", "partition"]
)


def report_open(counts: Mapping[tuple[str, str], int], reported: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Set sgs_deadlines_open to `counts` ((department, state) → items), removing the series reported before
    that `counts` no longer has: after a rebalance a department whose partitions moved to another worker would
    otherwise keep its last value here too (counted twice, or an overdue alert that never clears). Returns the
    series now reported."""
    for department, state in reported - counts.keys():
        DEADLINES_OPEN.remove(department, state)
    for (department, state), count in counts.items():
        DEADLINES_OPEN.labels(department, state).set(count)
    return set(counts)
