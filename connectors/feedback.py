"""What a department is told about its own decisions: one decision's status, and its open items and rejections.

Read from the indices the worker keeps (archive, deadlines, rejections); shared by the gateway's status
endpoints and `sgs status`. A decision's state is:

- `published` / `revoked` / `expired` / `not_public` / `withheld` — the pipeline holds a valid version (archive);
  `withheld`: the negative list (政务公开负面清单) keeps it from the public, for `withheld_reason`;
- `rejected` — every submission so far was refused (the reasons are the dead letters');
- `received` — the platform has seen it (its deadline clock runs) but nothing is decided yet;
- unknown (None) — nothing at all yet (a submission may still be on its way: ask again in a few seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from elastic_transport import ObjectApiResponse
from elasticsearch import AsyncElasticsearch, NotFoundError

from sgs.connectors.search_indices import IndexNames
from sgs.core.calendar import WorkingCalendar
from sgs.core.dates import CHINA_TZ
from sgs.core.tracking import days_late_so_far

PUBLICATION_STATES = {
    "active": "published",
    "revoked": "revoked",
    "expired": "expired",
    "not_public": "not_public",
    "withheld": "withheld",
}
OPEN_STATES = ("pending", "at_risk", "overdue")
LIST_LIMIT = 1000
REJECTIONS_SHOWN = 10


async def _get(es: AsyncElasticsearch, index: str, doc_id: str) -> dict[str, Any] | None:
    try:
        found = await es.get(index=index, id=doc_id)
    except NotFoundError:
        return None
    source: dict[str, Any] = found["_source"]
    return source


def owner_of(
    decision_id: str,
    archive: Mapping[str, Any] | None,
    rejections: list[dict[str, Any]],
    deadline: Mapping[str, Any] | None = None,
) -> set[str]:
    """The departments that may see (and revoke) a decision: the one whose data the platform holds (archive,
    else the deadline tracker's) and the issuing authority named in the id, which may take over what another
    department reported in its name (as the worker allows); with nothing held, also whoever sent the rejected
    submissions (each is shown only its own). A rejection never makes a department the owner of a decision
    the platform holds: B's refused submission under A's decision id must not open A's decision to B."""
    parts = decision_id.split(":")
    authority = {parts[1]} if len(parts) >= 3 else set()
    if archive and archive.get("source_department_code"):
        return {archive["source_department_code"]} | authority
    if deadline and deadline.get("department_code"):
        return {deadline["department_code"]} | authority
    return {r["department_code"] for r in rejections if r.get("department_code")} | authority


async def decision_status(
    es: AsyncElasticsearch, names: IndexNames, decision_id: str, department_code: str
) -> dict[str, Any] | None:
    """Everything the platform knows of one decision, as `department_code` may see it (only its own rejected
    submissions), or None when it knows nothing. The caller checks `owners` before showing any of it."""
    archive = await _get(es, names.archive, decision_id)
    deadline = await _get(es, names.deadlines, decision_id)
    found = await es.search(
        index=names.rejections,
        query={
            "bool": {"filter": [{"term": {"decision_id": decision_id}}, {"term": {"department_code": department_code}}]}
        },
        sort=[{"rejected_at": "desc"}],
        size=REJECTIONS_SHOWN,
        ignore_unavailable=True,  # before the first worker made the indices: nothing known yet
    )
    rejections = [hit["_source"] for hit in found["hits"]["hits"]]
    if archive is None and deadline is None and not rejections:
        return None
    if archive is not None:
        state = PUBLICATION_STATES.get(archive.get("publication_status", ""), "published")
    elif rejections:
        state = "rejected"
    else:
        state = "received"
    latest_rejected = bool(rejections) and (
        archive is None or rejections[0]["rejected_at"] > str(archive.get("indexed_at", ""))
    )
    return {
        "decision_id": decision_id,
        "state": state,
        "version": archive.get("sequence") if archive else None,
        "latest_submission_rejected": latest_rejected,
        "withheld_reason": archive.get("withheld_reason") if archive else None,
        "deadline": _deadline_view(deadline),
        "rejections": [_rejection_view(r) for r in rejections],
        "owners": sorted(owner_of(decision_id, archive, rejections, deadline)),
    }


async def department_report(
    es: AsyncElasticsearch, names: IndexNames, department_code: str, *, now: datetime, calendar: WorkingCalendar
) -> dict[str, Any]:
    """A department's open deadline items (pending, at risk, overdue — with how late) and its rejections not
    yet corrected (no valid version since)."""
    today = now.astimezone(CHINA_TZ).date()
    found = await es.search(
        index=names.deadlines,
        query={"bool": {"filter": [{"term": {"department_code": department_code}}, {"terms": {"state": OPEN_STATES}}]}},
        sort=[{"deadline": "asc"}, {"decision_id": "asc"}],
        size=LIST_LIMIT,
        ignore_unavailable=True,
        aggs={"states": {"terms": {"field": "state", "size": len(OPEN_STATES)}}},
    )
    # How many there are, also past the LIST_LIMIT listed (the most urgent first).
    counts = {state: 0 for state in OPEN_STATES} | {b["key"]: b["doc_count"] for b in buckets(found, "states")}
    items: dict[str, list[dict[str, Any]]] = {state: [] for state in OPEN_STATES}
    for hit in found["hits"]["hits"]:
        view = _deadline_view(hit["_source"])
        assert view is not None
        if view["state"] == "overdue":
            view["working_days_late"] = days_late_so_far(date.fromisoformat(view["deadline"]), today, calendar)
        items[view["state"]].append(view)
    return {
        "department_code": department_code,
        "as_of": now.isoformat(),
        "counts": counts,
        **items,
        "rejected_not_corrected": await _uncorrected(es, names, department_code),
    }


async def _uncorrected(es: AsyncElasticsearch, names: IndexNames, department_code: str) -> list[dict[str, Any]]:
    found = await es.search(
        index=names.rejections,
        query={"term": {"department_code": department_code}},
        size=0,
        ignore_unavailable=True,
        aggs={
            "by_decision": {
                "terms": {"field": "decision_id", "size": LIST_LIMIT},
                "aggs": {"latest": {"top_hits": {"size": 1, "sort": [{"rejected_at": "desc"}]}}},
            }
        },
    )
    latest = [bucket["latest"]["hits"]["hits"][0]["_source"] for bucket in buckets(found, "by_decision")]
    if not latest:
        return []
    archived = await es.mget(index=names.archive, ids=[r["decision_id"] for r in latest])
    valid_since: dict[str, str] = {
        doc["_id"]: str(doc["_source"].get("indexed_at", "")) for doc in archived["docs"] if doc.get("found")
    }
    return [
        _rejection_view(r)
        for r in sorted(latest, key=lambda r: r["rejected_at"], reverse=True)
        if r["decision_id"] not in valid_since or valid_since[r["decision_id"]] < r["rejected_at"]
    ]


def buckets(found: Mapping[str, Any] | ObjectApiResponse[Any], name: str) -> list[dict[str, Any]]:
    """The buckets of aggregation `name`; none when the index does not exist yet (a search with
    ignore_unavailable then answers without any `aggregations`)."""
    aggregations = found.get("aggregations", {})
    found_buckets: list[dict[str, Any]] = aggregations.get(name, {}).get("buckets", [])
    return found_buckets


def _deadline_view(document: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    keys = ("decision_id", "kind", "state", "decision_date", "deadline", "provisional", "published_at")
    return {key: document.get(key) for key in keys} | {"working_days_late": document.get("working_days_late")}


def _rejection_view(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "decision_id": document.get("decision_id"),
        "event_id": document.get("event_id"),
        "rejected_at": document.get("rejected_at"),
        "problems": document.get("problems", []),
    }
