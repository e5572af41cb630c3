"""The rejections index's document ids: a dead letter of the same refused event, sent again, is the same document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sgs.core.problems import dead_letter_id

NOW = datetime(2025, 6, 30, 4, tzinfo=UTC)


def dead_letter(*codes: str, offset: int = 41, at: datetime = NOW) -> dict[str, Any]:
    return {
        "event_id": "e-1",
        "decision_id": "penalty:X:信环罚〔2025〕1号",
        "department_code": "X",
        "kind": "penalty",
        "source_topic": "sgs.decisions.submitted",
        "source_partition": 2,
        "source_offset": offset,
        "original": b"\x00bytes",
        "problems": [{"field": "", "code": code, "message": f"{code} 的说明"} for code in codes],
        "rejected_at": at,
    }


def test_the_same_event_refused_again_after_a_crash_is_the_same_document() -> None:
    first = dead_letter("field.required", "date.invalid")
    replayed = dead_letter("date.invalid", "field.required", "date.invalid", at=NOW + timedelta(minutes=3))
    replayed["event_id"] = None  # nothing of the dead letter itself counts: only where the event was, and why
    assert dead_letter_id(first) == dead_letter_id(replayed)
    assert dead_letter_id(first).startswith("sgs.decisions.submitted:2:41:")


def test_different_events_or_different_refusals_of_one_event_are_different_documents() -> None:
    checks = dead_letter("field.required")
    ids = {
        dead_letter_id(checks),
        dead_letter_id(dead_letter("field.required", offset=42)),
        dead_letter_id(dead_letter("elasticsearch.rejected")),  # the same event's documents refused later
        dead_letter_id(dead_letter("internal.error")),
        dead_letter_id(checks | {"source_partition": 3}),
        dead_letter_id(checks | {"source_topic": "sgs.decisions.commands"}),
    }
    assert len(ids) == 6


def test_an_id_stays_within_elasticsearchs_limit_however_many_problems() -> None:
    many = dead_letter(*(f"field.problem_number_{n}" for n in range(200)))
    many["source_topic"] = "t" * 249  # Kafka's longest topic name
    assert len(dead_letter_id(many).encode()) <= 512
