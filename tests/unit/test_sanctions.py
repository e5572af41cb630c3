"""Sanction alerts (联合惩戒) without Kafka: every arrival order alerts each pair once."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sgs.core.sanctions import KEPT, SubjectState, alert_id, on_decision, on_watch, severity

NOW = datetime(2026, 3, 2, tzinfo=UTC)
SUBJECT = "91411502MA40AB12XY"


def current(kind: str, decision: str, department: str, status: str = "active", **document: object) -> dict[str, Any]:
    archive = {"authority_name": f"{department}局", "document_number": f"{decision}号", "subject_name": "某某公司"}
    return {
        "decision_id": decision,
        "kind": kind,
        "status": status,
        "department_code": department,
        "subject_code": SUBJECT,
        "archive_document": json.dumps(archive | document, ensure_ascii=False),
    }


LICENCE_A = current("licence", "licence:A:1", "A", licence_certificate_name="食品经营许可证")
LICENCE_B = current("licence", "licence:B:1", "B")
PENALTY_C = current("penalty", "penalty:C:1", "C", penalty_categories=["罚款", "责令停产停业"])


def run(records: list[dict[str, Any]]) -> tuple[SubjectState | None, list[dict[str, Any]]]:
    state: SubjectState | None = None
    raised: list[dict[str, Any]] = []
    for record in records:
        state, new = on_decision(state, record, NOW)
        raised += new
    return state, raised


def test_a_penalty_before_or_after_the_licences_alerts_each_licence_department_once() -> None:
    for order in itertools.permutations([LICENCE_A, LICENCE_B, PENALTY_C]):
        _, alerts = run([*order, PENALTY_C, LICENCE_A])  # replays and versions change nothing
        assert sorted(a["notify_department_code"] for a in alerts) == ["A", "B"], order
        assert {a["severity"] for a in alerts} == {"high"}
        assert {a["alert_id"] for a in alerts} == {
            alert_id("penalty:C:1", "licence:A:1"),
            alert_id("penalty:C:1", "licence:B:1"),
        }


@given(
    st.permutations(
        [LICENCE_A, LICENCE_B, PENALTY_C, current("penalty", "penalty:D:2", "D", penalty_categories=["警告"])]
    )
)
def test_any_order_gives_the_same_alerts(order: list[dict[str, Any]]) -> None:
    _, alerts = run(order)
    assert len(alerts) == 4 and len({a["alert_id"] for a in alerts}) == 4


def test_the_penalising_department_is_not_alerted_of_its_own_licence() -> None:
    own = current("licence", "licence:C:9", "C")
    assert run([own, PENALTY_C])[1] == []


def test_withdrawn_licences_and_penalties_draw_no_alerts() -> None:
    revoked = current("licence", "licence:A:1", "A", status="revoked")
    assert run([LICENCE_A, revoked, PENALTY_C])[1] == []
    withdrawn = current("penalty", "penalty:C:1", "C", status="expired")
    assert run([PENALTY_C, withdrawn, LICENCE_A])[1] == []


def test_a_watcher_hears_of_new_penalties_only() -> None:
    state, _ = on_decision(None, PENALTY_C, NOW)
    state = on_watch(state, SUBJECT, "W", watching=True)
    state, alerts = on_decision(state, PENALTY_C, NOW)  # already known when the watch began
    assert alerts == []
    later = current("penalty", "penalty:E:3", "E", penalty_categories=["警告"])
    state, alerts = on_decision(state, later, NOW)
    assert [(a["reason"], a["notify_department_code"], a["severity"]) for a in alerts] == [("watchlist", "W", "low")]
    state = on_watch(state, SUBJECT, "W", watching=False)
    assert on_decision(state, current("penalty", "penalty:E:4", "E"), NOW)[1] == []


def test_severity_follows_the_penalty_categories() -> None:
    assert (
        severity(["吊销许可证件"]) == "high"
        and severity(["罚款"]) == "medium"
        and severity(["警告", "通报批评"]) == "low"
    )


def test_the_state_survives_the_tables_json() -> None:
    state, _ = run([LICENCE_A, PENALTY_C])
    assert state is not None
    assert SubjectState.from_json(json.loads(json.dumps(state.as_json()))) == state


def test_a_licence_whose_subject_code_was_corrected_leaves_the_old_subject() -> None:
    """Routed by the old code after the correction, the record takes the licence away from the old subject: a
    later penalty against that subject raises no alert about a licence it no longer holds."""
    state, _ = on_decision(None, LICENCE_A, NOW, SUBJECT)
    assert state.licences
    moved = dict(LICENCE_A, subject_code="91411502MA40AB9900")
    state, alerts = on_decision(state, moved, NOW, SUBJECT)
    assert not state.licences and alerts == []
    assert on_decision(state, PENALTY_C, NOW, SUBJECT)[1] == []


def test_decisions_the_negative_list_withholds_from_the_public_still_bind_the_departments() -> None:
    """一处失信、处处受限 is between departments: the negative list (STANDARD §6) decides only what the public sees."""
    withheld_penalty = current("penalty", "penalty:C:1", "C", status="withheld", penalty_categories=["罚款"])
    withheld_licence = current("licence", "licence:A:1", "A", status="withheld")
    assert [a["notify_department_code"] for a in run([LICENCE_A, withheld_penalty])[1]] == ["A"]
    assert [a["notify_department_code"] for a in run([withheld_licence, PENALTY_C])[1]] == ["A"]


def test_thousands_of_penalties_against_one_company_keep_the_state_small() -> None:
    """A hostile tester's find: 8,000 penalties against one company made its state larger than Kafka takes (1 MB)
    and stopped the worker at every restart; raising alerts also grew with the square of the decisions."""
    state, _ = on_decision(None, LICENCE_A, NOW)
    raised = 0
    for number in range(5_000):
        penalty = current("penalty", f"penalty:C:{number}", "C", penalty_categories=["罚款"])
        state, alerts = on_decision(state, penalty, NOW)
        raised += len(alerts)
    assert raised == 5_000  # each new penalty told the licensing department once
    assert len(state.penalties) == KEPT and "penalty:C:4999" in state.penalties and "penalty:C:0" not in state.penalties
    assert len(json.dumps(state.as_json())) < 250_000
    # A licence granted now hears of the latest penalties in force.
    late, alerts = on_decision(state, current("licence", "licence:D:1", "D"), NOW)
    assert len(alerts) == KEPT and len(late.licences) == 2
    # A correction keeps its place and raises nothing.
    corrected = current("penalty", "penalty:C:4999", "C", penalty_categories=["警告"])
    assert on_decision(late, corrected, NOW)[1] == []


LICENCE_A_STATE = {
    "licences": {
        "licence:A:1": {
            "decision_id": "licence:A:1",
            "department_code": "A",
            "authority_name": "A局",
            "document_number": "1号",
            "decision_date": "",
            "subject_name": "某某公司",
            "categories": [],
            "licence_name": "",
        }
    },
    "penalties": {},
    "watchers": [],
}


def test_a_state_stored_with_the_alerts_it_had_raised_still_reads() -> None:
    stored = LICENCE_A_STATE | {"alerted": ["0" * 32]}
    assert SubjectState.from_json(stored).licences.keys() == {"licence:A:1"}
