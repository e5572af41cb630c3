"""Sanction alerts (联合惩戒), pure: a penalty against a subject that holds active licences of other departments.

One `SubjectState` per subject unified code holds its licences and penalties in force and the departments
watching it. Whatever the order decisions arrive in — the penalty before the licence or after it — a pair
alerts when its second decision comes into force: a new penalty alerts every licence of another department and
every watcher, a new licence every penalty of another department; replays and new versions of decisions in
force raise nothing new (a decision withdrawn and in force again alerts again: the alerts index keeps one per
pair). A withdrawn licence (revoked, 无效, publication ended) no longer draws alerts; a withdrawn penalty raises
no more.

The state is one table value, rewritten at every event: it keeps at most `KEPT` licences and `KEPT` penalties,
the latest (a department sending thousands of penalties against one company made it larger than Kafka takes,
and stopped the worker). A licence granted to a company with more penalties in force is told of the latest
`KEPT`; a penalty alerts the latest `KEPT` licences.
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


# About 420 bytes a decision in the table's JSON: 200 + 200 stay far below Kafka's 1 MB message limit, and cheap
# to rewrite at every event.
KEPT = 200


@dataclass(frozen=True, slots=True)
class SubjectState:
    licences: Mapping[str, DecisionRef] = field(default_factory=dict)  # in arrival order, the latest last
    penalties: Mapping[str, DecisionRef] = field(default_factory=dict)
    watchers: frozenset[str] = frozenset()

    def as_json(self) -> dict[str, Any]:
        return {
            "licences": {k: v.as_json() for k, v in self.licences.items()},
            "penalties": {k: v.as_json() for k, v in self.penalties.items()},
            "watchers": sorted(self.watchers),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SubjectState:
        # States stored before alerts were raised on arrival also hold "alerted": not needed any more.
        return cls(
            {k: DecisionRef.from_json(v) for k, v in data["licences"].items()},
            {k: DecisionRef.from_json(v) for k, v in data["penalties"].items()},
            frozenset(data["watchers"]),
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


def _arrived(
    state: SubjectState, ref: DecisionRef, kind: str, subject_code: str, now: datetime
) -> list[dict[str, Any]]:
    """The alerts a decision raises as it comes into force for the subject."""
    if kind == "licence":
        return [
            _alert(penalty, subject_code, now, ref)
            for penalty in state.penalties.values()
            if penalty.department_code != ref.department_code  # another department must hear of it
        ]
    alerts = [
        _alert(ref, subject_code, now, licence)
        for licence in state.licences.values()
        if licence.department_code != ref.department_code
    ]
    return alerts + [_alert(ref, subject_code, now, None, watcher) for watcher in sorted(state.watchers)]


def _latest(held: Mapping[str, DecisionRef]) -> dict[str, DecisionRef]:
    return dict(list(held.items())[-KEPT:]) if len(held) > KEPT else dict(held)


def on_decision(
    state: SubjectState | None, current: Mapping[str, Any], now: datetime, subject: str | None = None
) -> tuple[SubjectState, list[dict[str, Any]]]:
    """A decision of the subject changed (a current-state record): keep the ones in force, raise what is due.
    `subject`: the subject code the record was routed by; a record naming another code now (its subject code
    was corrected) takes the decision away from this subject."""
    state = state or SubjectState()
    decision, kind = current["decision_id"], current["kind"]
    subject_code = subject or subject_of(current) or ""
    # A decision the negative list withholds from the public still binds the departments (一处失信、处处受限).
    in_force = current["status"] in IN_FORCE
    ref = decision_ref(current) if in_force and subject_of(current) == subject_code else None
    held = state.licences if kind == "licence" else state.penalties
    alerts = _arrived(state, ref, kind, subject_code, now) if ref is not None and decision not in held else []
    changed = dict(held)
    if ref is None:
        changed.pop(decision, None)
    else:
        changed[decision] = ref  # a new version keeps its place; a new decision comes last
    changed = _latest(changed)
    if kind == "licence":
        return dataclasses.replace(state, licences=changed), alerts
    return dataclasses.replace(state, penalties=changed), alerts


def on_watch(state: SubjectState | None, subject_code: str, department_code: str, watching: bool) -> SubjectState:
    """A department starts (or stops) watching the subject: it hears of the subject's *new* penalties."""
    state = state or SubjectState()
    if not watching:
        return dataclasses.replace(state, watchers=state.watchers - {department_code})
    return dataclasses.replace(state, watchers=state.watchers | {department_code})
