"""The SDK's checks that need no broker: revoke ids, versions, and default versions that never tie."""

from __future__ import annotations

from datetime import UTC, datetime

from sgs.connectors.publisher import Versions, prepare_revoke, prepare_upsert

from .factories import AUTHORITY, penalty

NOW = datetime(2025, 6, 10, 2, tzinfo=UTC)


def test_a_revoke_is_sent_under_the_canonical_decision_id() -> None:
    prepared = prepare_revoke(AUTHORITY, f"penalty:{AUTHORITY.lower()}:信市监罚[2025]7号", source="sdk", now=NOW)
    canonical = f"penalty:{AUTHORITY}:信市监罚〔2025〕7号"
    assert prepared.receipt.decision_id == canonical and prepared.receipt.status == "pending"
    assert prepared.envelope is not None and prepared.envelope["decision_id"] == canonical


def test_a_revoke_of_something_that_is_no_decision_id_is_refused_on_the_clerks_side() -> None:
    for text in ("penalty::", "licence:xyz:abc", None, 12345):
        prepared = prepare_revoke(AUTHORITY, text, source="sdk", now=NOW)  # type: ignore[arg-type]
        assert prepared.envelope is None and prepared.receipt.status == "invalid"
        assert [p.code for p in prepared.receipt.problems] == ["revoke.decision_id"]


def test_versions_the_platform_cannot_order_by_are_refused() -> None:
    for version in (0, -5, 2**70, 1.5, True):
        prepared = prepare_upsert(AUTHORITY, "penalty", penalty(), source="sdk", now=NOW, version=version)  # type: ignore[arg-type]
        assert prepared.envelope is None and [p.code for p in prepared.receipt.problems] == ["envelope.version"]
    assert prepare_upsert(AUTHORITY, "penalty", penalty(), source="sdk", now=NOW, version=1).envelope is not None


def test_default_versions_of_one_decision_never_tie_and_stay_on_the_clock() -> None:
    versions = Versions()
    assert [versions.next("a", 1000), versions.next("b", 1000), versions.next("a", 1000)] == [1000, 1000, 1001]
    assert versions.next("a", 1000) == 1002  # a third submission in the same millisecond
    assert versions.next("a", 1001) == 1003  # the clock caught up, but 1002 was given already
    assert versions.next("b", 1001) == 1001
    assert versions.next("a", 5000) == 5000 and versions.next("c", 5000) == 5000


def test_a_lone_surrogate_in_a_column_no_field_reads_cannot_stop_the_envelope_being_encoded() -> None:
    from sgs.schemas.contracts import encode

    record = penalty() | {"备注\udc80": "原文\ud800"}  # json.loads gives such text for "\udc80"
    prepared = prepare_upsert(AUTHORITY, "penalty", record, source="gateway", now=NOW)
    assert prepared.envelope is not None and prepared.envelope["original"]["备注\ufffd"] == "原文\ufffd"
    assert encode("submission", prepared.envelope)
