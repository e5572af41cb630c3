"""Sanction alerts (联合惩戒), pure: a penalty against a subject that holds active licences of other departments.

One `SubjectState` per subject unified code holds its active licences, its active penalties, the departments
watching it and the alerts already raised. Whatever the order decisions arrive in — the penalty before the
licence or after it — each (penalty, licence) pair alerts once, and so does each (penalty, watcher) pair;
replays and new versions of the same decisions raise nothing new. A withdrawn licence (revoked, 无效,
publication ended) no longer draws alerts; a withdrawn penalty raises no more.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sgs.core.submission import IN_FORCE

Severity = Literal["high", "medium", "low"]
# 2021 行政处罚法 art. 9: measures that stop or restrict the subject's business are what other licensing
# departments must act on first. Configurable by passing other sets to `severity`.
HIGH = frozenset(
    {"吊销许可证件", "责令停产停业", "责令关闭", "限制从业", "限制开展生产经营活动", "暂扣许可证件", "降低资质等级"}
)
MEDIUM = frozenset({"罚款", "没收违法所得", "没收非法财物", "行政拘留"})


def severity(categories: Iterable[str], high: frozenset[str] = HIGH, medium: frozenset[str] = MEDIUM) -> Severity:
    chosen = set(categories)
    if chosen & high:
        return "high"
    if chosen & medium:
        return "medium"
    return "low"


@dataclass(frozen=True, slots=True)
class DecisionRef:
    """What an alert needs to say about one decision."""

    decision_id: str
    department_code: str
    authority_name: str
    document_number: str
    decision_date: str
    subject_name: str
    categories: tuple[str, ...] = ()  # penalties: 处罚类别
    licence_name: str = ""  # licences: 许可证书名称 or 文书名称

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"categories": list(self.categories)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionRef:
        return cls(**{**data, "categories": tuple(data.get("categories", ()))})


@dataclass(frozen=True, slots=True)
class SubjectState:
    licences: Mapping[str, DecisionRef] = field(default_factory=dict)
    penalties: Mapping[str, DecisionRef] = field(default_factory=dict)
    watchers: frozenset[str] = frozenset()
    alerted: frozenset[str] = frozenset()

    def as_json(self) -> dict[str, Any]:
        return {
            "licences": {k: v.as_json() for k, v in self.licences.items()},
            "penalties": {k: v.as_json() for k, v in self.penalties.items()},
            "watchers": sorted(self.watchers),
            "alerted": sorted(self.alerted),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SubjectState:
        return cls(
            {k: DecisionRef.from_json(v) for k, v in data["licences"].items()},
            {k: DecisionRef.from_json(v) for k, v in data["penalties"].items()},
            frozenset(data["watchers"]),
            frozenset(data["alerted"]),
        )


def alert_id(penalty_id: str, other: str) -> str:
    """Stable per (penalty, licence) or (penalty, watcher): the alert's identity everywhere (ASCII)."""
    return hashlib.sha256(f"{penalty_id}|{other}".encode()).hexdigest()[:32]


def subject_of(current: Mapping[str, Any]) -> str | None:
    """What groups a current-state record's subject: its `subject_key` (the unified code, or a natural person's
    keyed hash), or for a record written before that field (current.avsc v1) its unified code."""
    key: str | None = current.get("subject_key") or current.get("subject_code")
    return key


def decision_ref(current: Mapping[str, Any]) -> DecisionRef | None:
    """The reference of a current-state record (current.avsc), from its archive document; None without one."""
    text = current.get("archive_document")
    if not text:
        return None
    document = json.loads(text)
    categories = document.get("penalty_categories") or []
    return DecisionRef(
        decision_id=current["decision_id"],
        department_code=current["department_code"],
        authority_name=str(document.get("authority_name", "")),
        document_number=str(document.get("document_number", "")),
        decision_date=str(document.get("decision_date", "")),
        subject_name=str(document.get("subject_name", "")),
        categories=tuple(categories if isinstance(categories, list) else [categories]),
        licence_name=str(document.get("licence_certificate_name") or document.get("document_name") or ""),
    )


def _alert(
    penalty: DecisionRef, subject_code: str, now: datetime, licence: DecisionRef | None, watcher: str = ""
) -> dict[str, Any]:
    notify = licence.department_code if licence is not None else watcher
    return {
        "alert_id": alert_id(penalty.decision_id, licence.decision_id if licence is not None else f"watch:{watcher}"),
        "severity": severity(penalty.categories),
        "reason": "licensed_entity_penalised" if licence is not None else "watchlist",
        "subject_code": subject_code,
        "subject_name": penalty.subject_name,
        "penalty_id": penalty.decision_id,
        "penalty_document_number": penalty.document_number,
        "penalty_categories": list(penalty.categories),
        "penalty_decision_date": penalty.decision_date,
        "penalty_department_code": penalty.department_code,
        "penalty_authority_name": penalty.authority_name,
        "licence_id": licence.decision_id if licence else None,
        "licence_document_number": licence.document_number if licence else None,
        "licence_name": licence.licence_name if licence else None,
        "licence_department_code": licence.department_code if licence else None,
        "licence_authority_name": licence.authority_name if licence else None,
        "notify_department_code": notify,
        "raised_at": now,
    }


def _raise(state: SubjectState, subject_code: str, now: datetime) -> tuple[SubjectState, list[dict[str, Any]]]:
    """Every alert the state calls for that was not raised yet."""
    alerts = []
    for penalty in state.penalties.values():
        for licence in state.licences.values():
            if licence.department_code != penalty.department_code:  # another department must hear of it
                alerts.append(_alert(penalty, subject_code, now, licence))
        for watcher in state.watchers:
            alerts.append(_alert(penalty, subject_code, now, None, watcher))
    fresh = [a for a in alerts if a["alert_id"] not in state.alerted]
    alerted = state.alerted | {a["alert_id"] for a in fresh}
    return dataclasses.replace(state, alerted=alerted), fresh


def on_decision(
    state: SubjectState | None, current: Mapping[str, Any], now: datetime, subject: str | None = None
) -> tuple[SubjectState, list[dict[str, Any]]]:
    """A decision of the subject changed (a current-state record): keep the active ones, raise what is due.
    `subject`: the subject code the record was routed by; a record naming another code now (its subject code
    was corrected) takes the decision away from this subject."""
    state = state or SubjectState()
    decision, kind = current["decision_id"], current["kind"]
    subject_code = subject or subject_of(current) or ""
    # A decision the negative list withholds from the public still binds the departments (一处失信、处处受限).
    in_force = current["status"] in IN_FORCE
    ref = decision_ref(current) if in_force and subject_of(current) == subject_code else None
    held = state.licences if kind == "licence" else state.penalties
    changed = {k: v for k, v in held.items() if k != decision} | ({decision: ref} if ref is not None else {})
    if kind == "licence":
        state = dataclasses.replace(state, licences=changed)
    else:
        state = dataclasses.replace(state, penalties=changed)
    return _raise(state, subject_code, now)


def on_watch(state: SubjectState | None, subject_code: str, department_code: str, watching: bool) -> SubjectState:
    """A department starts (or stops) watching the subject: it hears of the subject's *new* penalties — those
    already known are counted as told."""
    state = state or SubjectState()
    if not watching:
        return dataclasses.replace(state, watchers=state.watchers - {department_code})
    told = {alert_id(penalty_id, f"watch:{department_code}") for penalty_id in state.penalties}
    return dataclasses.replace(state, watchers=state.watchers | {department_code}, alerted=state.alerted | told)
