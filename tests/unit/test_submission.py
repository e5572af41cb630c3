"""The pipeline's rules for one submission, without Kafka: checks, merge, dead letters, deadline notices."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from typing import Any

from sgs.core.calendar import default_calendar
from sgs.core.codes import org_check_character, uscc_check_character
from sgs.core.docnum import decision_id
from sgs.core.publication import parse_publication_rules
from sgs.core.submission import Handled, Location, Stored, handle, reapply
from sgs.core.validate import ValidationOptions

CAL = default_calendar()
NOW = datetime(2025, 3, 10, 2, tzinfo=UTC)


def uscc(prefix8: str, body8: str) -> str:
    """A made-up unified code with both check characters right (the embedded org code's and its own)."""
    first17 = prefix8 + body8 + (org_check_character(body8) or "")
    return first17 + (uscc_check_character(first17) or "")


ENV_BUREAU = uscc("11411500", "MB123456")  # 信阳市生态环境局 (made up)
OTHER_BUREAU = uscc("11411500", "MB765432")
COMPANY = uscc("91411502", "MA40AB12")


def penalty(**changes: str) -> dict[str, str]:
    record = {
        "subject_name": "信阳市某某化工有限公司",
        "subject_category": "法人及非法人组织",
        "subject_code": COMPANY,
        "legal_representative": "张三",
        "legal_representative_id_type": "身份证",
        "legal_representative_id_number": "411502199508081269",
        "document_number": "信环罚〔2025〕12号",
        "illegal_act_type": "超标排放污染物",
        "facts": "经查，当事人超标排放废水。",
        "legal_basis": "《中华人民共和国水污染防治法》第八十三条",
        "penalty_categories": "罚款",
        "penalty_content": "罚款人民币贰万元",
        "fine_amount": "2",
        "decision_date": "2025-03-05",
        "valid_to": "2025-09-05",
        "authority_name": "信阳市生态环境局",
        "authority_code": ENV_BUREAU,
        "source_department": "信阳市生态环境局",
        "source_department_code": ENV_BUREAU,
    }
    return record | changes


DECISION_ID = decision_id("penalty", ENV_BUREAU, "信环罚〔2025〕12号")


def envelope(
    version: int = 1, operation: str = "upsert", department: str = ENV_BUREAU, **decision: str
) -> dict[str, Any]:
    return {
        "event_id": f"e-{version}-{operation}",
        "operation": operation,
        "version": version,
        "department_code": department,
        "submitted_at": NOW,
        "source": "sdk",
        "kind": "penalty",
        "decision_id": DECISION_ID,
        "decision": penalty(**decision) if operation == "upsert" else None,
        "original": None,
    }


def run(env: Mapping[str, Any] | None, stored: Stored | None = None, offset: int = 0) -> Handled:
    return handle(env, stored, key=DECISION_ID, location=Location("t", 0, offset), now=NOW, calendar=CAL)


def fold(envelopes: list[dict[str, Any]]) -> Stored | None:
    def step(stored: Stored | None, item: tuple[int, dict[str, Any]]) -> Stored | None:
        handled = run(item[1], stored, offset=item[0])
        return handled.stored or stored

    return reduce(step, enumerate(envelopes), None)


def codes(handled: Handled) -> list[str]:
    return [p.code for p in handled.problems]


def test_a_valid_penalty_becomes_current_state_with_a_masked_public_view() -> None:
    handled = run(envelope())
    assert handled.outcome == "applied" and not handled.problems
    assert handled.current is not None and handled.current["status"] == "active" and handled.current["sequence"] == 1
    public = json.loads(handled.current["public_document"])
    assert "legal_representative_id_number" not in public
    assert "411502199508081269" not in handled.current["public_document"]
    assert handled.seen is not None and handled.seen.decision_date == date(2025, 3, 5)


def test_undecodable_bytes_are_a_dead_letter() -> None:
    handled = run(None)
    assert handled.outcome == "rejected" and codes(handled) == ["payload.undecodable"]


def test_invalid_content_is_a_dead_letter_but_the_deadline_clock_still_sees_the_decision() -> None:
    handled = run(envelope(fine_amount="-3"))
    assert handled.outcome == "rejected" and "amount.negative" in codes(handled)
    assert handled.seen is not None and handled.seen.decision_id == DECISION_ID


def test_a_department_cannot_publish_another_departments_decision() -> None:
    handled = run(envelope(department=OTHER_BUREAU))
    assert handled.outcome == "rejected" and "department.not_own" in codes(handled)


def test_a_key_that_differs_from_the_decision_id_is_rejected() -> None:
    handled = handle(envelope(), None, key="penalty:x:y", location=Location("t", 0, 0), now=NOW, calendar=CAL)
    assert "envelope.key_mismatch" in codes(handled)


def test_unknown_operation_and_source_are_explained() -> None:
    env = envelope() | {"operation": "delete", "source": "fax"}
    assert {"envelope.operation", "envelope.source"} <= set(codes(run(env)))


def test_the_same_event_ten_times_changes_state_once() -> None:
    first = run(envelope())
    assert first.stored is not None
    outcomes = [run(envelope(), first.stored, offset=i).outcome for i in range(1, 11)]
    assert outcomes == ["duplicate"] * 10


def test_versions_out_of_order_converge_to_the_highest() -> None:
    envelopes = [envelope(3, fine_amount="3"), envelope(1, fine_amount="1"), envelope(2, fine_amount="2")]
    stored = fold(envelopes)
    assert stored is not None and stored.merge.version == 3 and stored.sequence == 1
    assert json.loads(stored.current["public_document"])["fine_amount"] == "3"


def test_an_older_version_with_other_content_is_a_dead_letter_that_says_it_did_not_take_effect() -> None:
    """A hostile tester's find: a correction sent with a lower version than the one in force was dropped without
    a word (202 from the gateway, nothing in the department's feedback)."""
    newer = run(envelope(5, fine_amount="5"))
    assert newer.stored is not None
    correction = run(envelope(4, fine_amount="0.5"), newer.stored, offset=1)
    assert correction.outcome == "stale" and codes(correction) == ["version.stale"]
    assert "版本号4低于本部门已生效的版本5：本次报送未生效" in correction.problems[0].message
    assert run(envelope(4, fine_amount="5"), newer.stored, offset=1).problems == ()  # the content in force
    late_revoke = run(envelope(3, operation="revoke"), newer.stored, offset=1)
    assert codes(late_revoke) == ["version.stale"] and "本次撤销未生效" in late_revoke.problems[0].message


def test_revoke_withdraws_and_a_late_older_version_does_not_resurrect() -> None:
    stored = fold([envelope(1), envelope(2, "revoke"), envelope(1, fine_amount="5")])
    assert stored is not None and stored.status == "revoked" and stored.sequence == 2
    assert stored.current["archive_document"] is not None  # the archive keeps the record


def test_revoke_of_an_unknown_decision_is_kept_as_a_blocking_stub() -> None:
    revoked = run(envelope(5, "revoke"))
    assert revoked.outcome == "applied" and revoked.current is not None
    assert revoked.current["status"] == "revoked" and revoked.current["public_document"] is None
    assert revoked.revoked == DECISION_ID
    later = run(envelope(4), revoked.stored, offset=1)
    assert later.outcome == "stale" and later.current is None


def test_another_department_cannot_revoke() -> None:
    stored = run(envelope()).stored
    handled = run(envelope(2, "revoke", department=OTHER_BUREAU), stored, offset=1)
    assert "department.not_own" in codes(handled)


def test_a_replay_after_a_crash_re_emits_without_changing_state() -> None:
    first = run(envelope(), offset=7)
    replay = run(envelope(), first.stored, offset=7)
    assert replay.outcome == "replayed" and replay.current == first.current and replay.stored == first.stored


def test_a_huge_text_field_is_rejected_with_a_reason() -> None:
    assert codes(run(envelope(facts="违" * 200_000))) == ["record.too_large"]


def test_stored_state_survives_its_json_form() -> None:
    stored = run(envelope()).stored
    assert stored is not None
    assert Stored.from_json(json.loads(json.dumps(stored.as_json(), default=str))).merge == stored.merge


def test_the_end_of_the_publication_period_withdraws_an_active_decision_once() -> None:
    from sgs.core.submission import expire, publication_ends_at

    stored = run(envelope(publication_end="2025-06-05")).stored
    assert stored is not None
    ends = publication_ends_at(stored)
    assert ends == datetime(2025, 6, 5, 16, tzinfo=UTC)  # 2025-06-06 00:00 China Standard Time
    assert expire(stored, now=ends - timedelta(seconds=1)).stored is None
    expired = expire(stored, now=ends)
    assert expired.outcome == "expired" and expired.current is not None
    assert expired.current["status"] == "expired" and expired.current["sequence"] == stored.sequence + 1
    assert expired.stored is not None and publication_ends_at(expired.stored) is None
    assert expire(expired.stored, now=ends).stored is None  # a repeated command changes nothing
    # A newer version from the department publishes again (and carries its own period).
    again = run(envelope(2, publication_end="2026-06-05"), expired.stored, offset=1)
    assert again.outcome == "applied" and again.current is not None and again.current["status"] == "active"


def test_a_replayed_state_from_the_tables_json_still_encodes_as_the_current_contract() -> None:
    from sgs.schemas.contracts import encode

    first = run(envelope(), offset=3)
    assert first.stored is not None
    # Faust keeps table values as JSON: datetimes come back as text.
    stored = Stored.from_json(json.loads(json.dumps(first.stored.as_json(), default=lambda v: v.isoformat())))
    replay = run(envelope(), stored, offset=3)
    assert replay.outcome == "replayed" and replay.current is not None
    assert encode("current", dict(replay.current))


def test_a_keyless_submission_is_rejected() -> None:
    handled = handle(envelope(), None, key=None, location=Location("t", 0, 0), now=NOW, calendar=CAL)
    assert "envelope.key_mismatch" in codes(handled)


def test_only_the_issuing_authority_may_revoke_a_decision_nobody_published() -> None:
    assert "department.not_own" in codes(run(envelope(5, "revoke", department=OTHER_BUREAU)))


def test_a_forged_or_stale_submission_does_not_move_the_deadline_clock() -> None:
    assert run(envelope(department=OTHER_BUREAU)).seen is None
    stored = run(envelope(2)).stored
    assert run(envelope(1, decision_date="2025-03-01"), stored, offset=1).seen is None


def test_the_same_content_under_a_newer_version_is_a_duplicate_that_keeps_the_newer_version() -> None:
    first = run(envelope(1))
    again = run(envelope(5), first.stored, offset=1)
    assert again.outcome == "duplicate" and again.current is None and again.seen is None
    assert again.stored is not None and again.stored.merge.version == 5
    assert again.stored.sequence == first.stored.sequence  # type: ignore[union-attr]
    # A version in between, arriving late, is older than what the department last said.
    late = run(envelope(3, facts="经查，当事人超标排放废水两次。"), again.stored, offset=2)
    assert late.outcome == "stale"


def test_a_revoke_naming_the_decision_in_another_spelling_is_refused_with_the_canonical_id() -> None:
    """Keyed by another spelling, the revoke sits in another partition than the decision: a stub under that
    spelling would leave the decision public while answering as if it were withdrawn."""
    stored = run(envelope()).stored
    for spelling in (DECISION_ID.replace("〔2025〕", "[2025]"), DECISION_ID.replace(ENV_BUREAU, ENV_BUREAU.lower())):
        revoke = envelope(2, "revoke") | {"decision_id": spelling}
        handled = handle(revoke, None, key=spelling, location=Location("t", 1, 0), now=NOW, calendar=CAL)
        assert handled.outcome == "rejected" and codes(handled) == ["revoke.decision_id"]
        assert DECISION_ID in handled.problems[0].message and handled.current is None
    assert stored is not None and run(envelope(2, "revoke"), stored, offset=1).outcome == "applied"


def test_a_decision_whose_publication_period_ended_before_it_arrived_is_never_public() -> None:
    handled = run(envelope(decision_date="2021-03-05", valid_to="2021-09-05", publication_end="2024-03-05"))
    assert handled.outcome == "applied" and handled.current is not None
    assert handled.current["status"] == "expired" and handled.seen is not None
    # Three months after the decision, its shortest period, ending tonight (China Standard Time): still public.
    still_running = run(envelope(decision_date="2024-12-10", valid_to="2025-06-10", publication_end="2025-03-10"))
    assert still_running.current is not None and still_running.current["status"] == "active"


def test_the_issuing_authority_takes_over_a_decision_another_department_reported_in_its_name() -> None:
    """A 数据来源单位 may report for the authority; a wrong or hostile report must not lock the authority out."""
    proxy = penalty(source_department_code=OTHER_BUREAU, source_department="信阳市某代报单位")
    reported = run(envelope(1, department=OTHER_BUREAU) | {"decision": proxy})
    assert reported.outcome == "applied" and reported.stored is not None
    corrected = run(envelope(2, fine_amount="1"), reported.stored, offset=1)
    assert corrected.outcome == "applied" and corrected.stored is not None
    assert corrected.stored.department_code == ENV_BUREAU
    assert run(envelope(3, "revoke"), reported.stored, offset=1).outcome == "applied"
    stranger = uscc("11411500", "MB111111")
    assert "department.not_own" in codes(run(envelope(4, "revoke", department=stranger), corrected.stored, offset=2))


def test_a_report_with_the_highest_version_cannot_outrank_the_authority_taking_over() -> None:
    """Versions order one department's submissions: another's version 2^63-1 must not make every correction and
    revoke of the issuing authority's own stale (they were dropped without a word)."""
    proxy = penalty(source_department_code=OTHER_BUREAU, source_department="信阳市某代报单位")
    hostile = run(envelope(2**63 - 1, department=OTHER_BUREAU) | {"decision": proxy})
    assert hostile.outcome == "applied" and hostile.stored is not None
    same_content = run(envelope(5) | {"decision": penalty()}, hostile.stored, offset=1)
    assert same_content.outcome == "applied" and same_content.stored is not None
    assert same_content.current is not None and same_content.current["department_code"] == ENV_BUREAU
    assert same_content.stored.department_code == ENV_BUREAU
    assert same_content.stored.sequence == hostile.stored.sequence + 1  # the public copy is written anew
    # From then on the authority's own versions order its submissions, and the proxy can change nothing.
    assert run(envelope(4, fine_amount="1"), same_content.stored, offset=2).outcome == "stale"
    assert run(envelope(6, fine_amount="1"), same_content.stored, offset=2).outcome == "applied"
    again = run(envelope(2**63 - 1, department=OTHER_BUREAU) | {"decision": proxy}, same_content.stored, offset=2)
    assert "department.not_own" in codes(again)
    revoked = run(envelope(3, "revoke"), hostile.stored, offset=1)
    assert revoked.outcome == "applied" and revoked.current is not None and revoked.current["status"] == "revoked"


def test_a_decision_date_that_is_itself_the_problem_starts_no_deadline_clock() -> None:
    """A date decades ahead would be tracked as pending on a provisional calendar year until then."""
    for wrong in ("2062-01-05", "1900-01-02"):
        handled = run(envelope(decision_date=wrong))
        assert handled.outcome == "rejected" and handled.seen is None
    assert run(envelope(fine_amount="-3")).seen is not None


def test_a_natural_persons_decisions_are_grouped_by_a_keyed_hash_of_the_id_number() -> None:
    """The sanction join's key: a unified code where there is one, else an HMAC of the ID number (never the
    number itself, which must not travel in topic keys)."""
    from sgs.core.decision import person_key

    person = penalty(
        subject_category="自然人", subject_code="", legal_representative="", legal_representative_id_type=""
    )
    person |= {"subject_name": "李娜", "id_type": "身份证", "id_number": "411502199508081269"}
    person |= {"legal_representative_id_number": ""}
    secret = b"platform-secret"
    handled = handle(
        envelope() | {"decision": person},
        None,
        key=DECISION_ID,
        location=Location("t", 0, 0),
        now=NOW,
        calendar=CAL,
        person_secret=secret,
    )
    assert handled.current is not None, handled.problems
    assert handled.current["subject_key"] == person_key("411502199508081269", secret)
    company = handle(envelope(), None, key=DECISION_ID, location=Location("t", 0, 0), now=NOW, calendar=CAL)
    assert company.current is not None and company.current["subject_key"] == COMPANY


RULES = parse_publication_rules(
    f"""
negative_list:
  - reason: 涉及国家秘密
    departments: [{ENV_BUREAU}]
    keywords: [国家秘密]
  - reason: 不公开法定代表人和统一社会信用代码
    fields: [法定代表人, subject_code]
"""
)
WITH_RULES = ValidationOptions(publication_rules=RULES)


OFFSETS = itertools.count(1)


def with_rules(
    env: Mapping[str, Any], stored: Stored | None = None, options: ValidationOptions = WITH_RULES
) -> Handled:
    """`env` handled with `options` (the RULES above by default), at the next offset of the partition."""
    location = Location("t", 0, next(OFFSETS))
    return handle(env, stored, key=DECISION_ID, location=location, now=NOW, calendar=CAL, options=options)


def test_the_negative_list_withholds_decisions_and_fields_from_the_public_view() -> None:
    """STANDARD §6: the negative list names further decisions or fields that must be withheld (configuration);
    withheld decisions stay in the archive, with the list's reason, and nothing of them is public."""
    fields_only = with_rules(envelope())
    assert fields_only.current is not None and fields_only.current["status"] == "active"
    public = json.loads(fields_only.current["public_document"])
    assert "legal_representative" not in public and "subject_code" not in public
    archive = json.loads(fields_only.current["archive_document"])
    assert archive["legal_representative"] == "张三" and archive["subject_code"] == COMPANY
    assert "withheld_reason" not in archive

    secret = with_rules(envelope(facts="经查，当事人泄露国家秘密。"))
    assert secret.current is not None and secret.current["status"] == "withheld"
    assert secret.current["public_document"] is None  # no public copy at all, not even a withdrawn one
    assert json.loads(secret.current["archive_document"])["withheld_reason"] == "涉及国家秘密"
    assert secret.seen is not None  # the deadline tracker hears of it, and the agent stops chasing it
    # Keywords are compared without width, case and spaces; without the list the same decision is public.
    assert (spaced := with_rules(envelope(facts="经查，泄露国家　秘密。")).current) is not None
    assert spaced["status"] == "withheld"
    assert (current := run(envelope(facts="经查，当事人泄露国家秘密。")).current) is not None
    assert current["status"] == "active"


def test_withheld_fields_leave_the_masking_of_the_rest_as_it_was() -> None:
    """A hostile tester's find: withholding 行政相对人类别 unmasked a natural person's other codes (whether they are
    a person's was read from the withheld field)."""
    rules = parse_publication_rules("negative_list: [{reason: r, kind: penalty, fields: [行政相对人类别, 公示截止期]}]")
    person = {
        "subject_category": "自然人",
        "subject_name": "李娜",
        "subject_code": "",
        "legal_representative": "",
        "legal_representative_id_type": "",
        "legal_representative_id_number": "",
        "id_type": "身份证",
        "id_number": "411502199508081269",
        "tax_registration_no": "TAX411502XYZ",
        "publication_end": "2026-03-05",
    }
    handled = with_rules(
        envelope(1, "upsert", ENV_BUREAU, **person), options=ValidationOptions(publication_rules=rules)
    )
    assert handled.current is not None and handled.problems == ()
    public = json.loads(handled.current["public_document"])
    assert public["tax_registration_no"] == "TA**********" and public["id_number"] == "411502************"
    assert "subject_category" not in public and "publication_end" not in public


def test_the_same_content_sent_again_after_the_rules_changed_is_published_anew() -> None:
    """A hostile tester's find: a resubmission was a duplicate whatever the negative list said now."""
    before = with_rules(envelope(version=1), options=ValidationOptions())
    assert before.stored is not None
    after = with_rules(envelope(version=2), before.stored)
    assert after.outcome == "applied" and after.current is not None
    assert "legal_representative" not in json.loads(after.current["public_document"])
    assert with_rules(envelope(version=3), after.stored).outcome == "duplicate"


def test_a_changed_negative_list_is_applied_to_decisions_in_force() -> None:
    """`sgs rules apply`: the worker makes each decision in force again under the rules it runs with now."""
    secret = envelope(facts="经查，当事人泄露国家秘密。")
    public = with_rules(secret, options=ValidationOptions())
    assert public.stored is not None and public.stored.status == "active"
    withheld = reapply(public.stored, now=NOW, options=WITH_RULES)
    assert withheld.outcome == "reapplied" and withheld.stored is not None and withheld.current is not None
    assert withheld.current["status"] == "withheld" and withheld.current["public_document"] is None
    assert withheld.current["sequence"] == public.stored.sequence + 1
    assert json.loads(withheld.current["archive_document"])["withheld_reason"] == "涉及国家秘密"
    assert reapply(withheld.stored, now=NOW, options=WITH_RULES).outcome == "unchanged"
    # The entry removed: public again, with every field the table allows.
    again = reapply(withheld.stored, now=NOW, options=ValidationOptions())
    assert again.stored is not None and again.current is not None and again.current["status"] == "active"
    assert again.current["public_document"] == public.stored.current["public_document"]
    assert "withheld_reason" not in json.loads(again.current["archive_document"])
    # Fields come and go the same way.
    fields = reapply(with_rules(envelope(), options=ValidationOptions()).stored, now=NOW, options=WITH_RULES)
    assert fields.current is not None and "legal_representative" not in json.loads(fields.current["public_document"])
    # Its period ended while it was withheld: expired, not public again.
    late = reapply(withheld.stored, now=datetime(2029, 1, 1, tzinfo=UTC), options=ValidationOptions())
    assert late.current is not None and late.current["status"] == "expired"
    # What is not in force keeps its status, and its public document follows the list too (a second hostile
    # tester's find: a revoked or not-public decision's public copy kept what the list now withholds).
    revoked = fold([envelope(version=1), envelope(version=2, operation="revoke")])
    assert revoked is not None
    stripped = reapply(revoked, now=NOW, options=WITH_RULES)
    assert stripped.current is not None and stripped.current["status"] == "revoked"
    assert "legal_representative" not in json.loads(stripped.current["public_document"])
    assert reapply(stripped.stored, now=NOW, options=WITH_RULES).outcome == "unchanged"
    secret_revoked = fold([secret, envelope(version=2, operation="revoke")])
    hidden = reapply(secret_revoked, now=NOW, options=WITH_RULES)
    assert hidden.current is not None and hidden.current["status"] == "revoked"
    assert hidden.current["public_document"] is None
    assert reapply(None, now=NOW, options=WITH_RULES).outcome == "unchanged"


def test_a_decision_never_public_has_no_public_copy_of_what_the_list_withholds() -> None:
    ended = with_rules(envelope(facts="泄露国家秘密", decision_date="2021-03-05", publication_end="2024-03-05"))
    assert ended.current is not None and ended.current["status"] == "withheld"
    assert ended.current["public_document"] is None
    plain = with_rules(envelope(decision_date="2021-03-05", publication_end="2024-03-05"))
    assert plain.current is not None and plain.current["status"] == "expired"
    assert "legal_representative" not in json.loads(plain.current["public_document"])


def test_publication_periods_follow_the_rules_given() -> None:
    rules = parse_publication_rules(f"departments: {{{ENV_BUREAU}: {{default_months: 12}}}}")
    options = ValidationOptions(publication_rules=rules)
    handled = handle(
        envelope(), None, key=DECISION_ID, location=Location("t", 0, 0), now=NOW, calendar=CAL, options=options
    )
    assert handled.current is not None and handled.current["publication_end"] == "2026-03-05"
    assert (default := run(envelope()).current) is not None and default["publication_end"] == "2028-03-05"
