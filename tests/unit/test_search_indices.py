from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.connectors.search_indices import (
    ARCHIVE_PLATFORM_FIELDS,
    EXACT_TEXT,
    PUBLIC_PLATFORM_FIELDS,
    IndexNames,
    archive_mapping,
    deadlines_mapping,
    mapping_for,
    public_mapping,
    public_query_filter,
)
from sgs.connectors.search_writer import documents_for
from sgs.core.decision import Decision
from sgs.core.fields import KINDS, Kind, fields_of
from sgs.core.masking import archive_view, public_view
from sgs.core.validate import validate

from .factories import LEGAL_REP_ID, PERSON_ID, TODAY, licence, natural_person, penalty

NAMES = IndexNames("sgs-")
NOW = datetime(2025, 6, 30, 8, 0, tzinfo=UTC)
STATUSES = ("active", "revoked", "expired", "not_public")
EXPECTED_TYPE = {
    "text": "text",
    "document_number": "text",
    "date": "date",
    "amount_wan": "double",
    "uscc": "keyword",
    "org_code": "keyword",
    "identifier": "keyword",
    "id_number": "keyword",
    "enum": "keyword",
    "enum_multi": "keyword",
}


def decision(kind: Kind, raw: Mapping[str, object]) -> Decision:
    result = validate(kind, raw, today=TODAY)
    assert result.record is not None, result.problems
    return result.record


def state(
    record: Decision | None, *, status: str = "active", sequence: int = 3, kind: Kind = "penalty"
) -> dict[str, Any]:
    """A decoded current-state record (current.avsc), as the publisher receives it."""
    return {
        "decision_id": record.decision_id if record else f"{kind}:11411500005000010X:信环罚〔2020〕9号",
        "kind": record.kind if record else kind,
        "sequence": sequence,
        "status": status,
        "public_document": json.dumps(public_view(record), ensure_ascii=False) if record else None,
        "archive_document": json.dumps(archive_view(record), ensure_ascii=False) if record else None,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_public_mapping_covers_every_public_field_with_its_type(kind: Kind) -> None:
    mapping = public_mapping(kind)
    assert mapping["dynamic"] == "strict"
    properties = mapping["properties"]
    for field in fields_of(kind):
        if field.publicity == "never":
            assert field.name not in properties
        else:
            assert properties[field.name]["type"] == EXPECTED_TYPE[field.type], field.name
    assert properties["subject_name"]["analyzer"] == "standard"
    assert properties["subject_name"]["fields"]["keyword"]["type"] == "keyword"
    assert properties["document_number"]["fields"]["keyword"]["ignore_above"] > 0
    assert properties["document_number_normalized"] == {"type": "keyword"}
    assert {name: properties[name]["type"] for name in ("withdrawn", "sequence", "indexed_at")} == {
        "withdrawn": "boolean",
        "sequence": "long",
        "indexed_at": "date",
    }


def test_amounts_are_numbers_and_never_fields_only_in_the_archive() -> None:
    penalties = public_mapping("penalty")["properties"]
    assert penalties["fine_amount"]["type"] == penalties["confiscation_amount"]["type"] == "double"
    archive = archive_mapping()
    assert archive["dynamic"] == "strict"
    for kind in KINDS:
        for field in fields_of(kind):
            assert field.name in archive["properties"]
    assert archive["properties"]["legal_representative_id_number"]["type"] == "keyword"
    assert archive["properties"]["publication_status"]["type"] == "keyword"


def test_platform_fields_do_not_shadow_table_fields() -> None:
    # Only the fields the views fill from the table's own values may share a name (licences have `status`).
    table = {f.name for kind in KINDS for f in fields_of(kind)}
    assert (PUBLIC_PLATFORM_FIELDS.keys() | ARCHIVE_PLATFORM_FIELDS.keys()) & table == {
        "subject_code",
        "publication_end",
    }


def test_exact_text_names_text_fields() -> None:
    text_fields = {f.name for kind in KINDS for f in fields_of(kind) if f.type == "text"}
    assert text_fields >= EXACT_TEXT


def test_names_and_their_mappings() -> None:
    assert NAMES.public_alias("licence") == "sgs-licences" and NAMES.public_alias("penalty") == "sgs-penalties"
    assert NAMES.aliases == (
        "sgs-licences",
        "sgs-penalties",
        "sgs-archive",
        "sgs-deadlines",
        "sgs-rejections",
        "sgs-alerts",
    )
    assert mapping_for(NAMES, "sgs-deadlines") == deadlines_mapping()
    assert mapping_for(NAMES, "sgs-penalties") == public_mapping("penalty")
    with pytest.raises(ValueError, match="not an alias"):
        mapping_for(NAMES, "other-archive")
    assert public_query_filter() == {"term": {"withdrawn": False}}


@pytest.mark.parametrize("kind", KINDS)
def test_documents_fit_their_strict_mappings(kind: Kind) -> None:
    record = decision(kind, licence() if kind == "licence" else penalty())
    public, archive = documents_for(state(record), NAMES, indexed_at=NOW)
    assert public.document.keys() <= public_mapping(kind)["properties"].keys()
    assert archive.document.keys() <= archive_mapping()["properties"].keys()


def test_active_decision_is_published_with_its_normalized_document_number() -> None:
    record = decision("penalty", penalty(document_number="信市监罚[2025]12号"))
    public, archive = documents_for(state(record, sequence=7), NAMES, indexed_at=NOW)
    assert (public.index, public.doc_id, public.version) == ("sgs-penalties", record.decision_id, 7)
    assert (archive.index, archive.doc_id, archive.version) == ("sgs-archive", record.decision_id, 7)
    assert public.document["withdrawn"] is False and public.document["withdrawn_reason"] is None
    assert public.document["document_number"] == "信市监罚[2025]12号"
    assert public.document["document_number_normalized"] == "信市监罚〔2025〕12号"
    assert public.document["indexed_at"] == "2025-06-30T08:00:00+00:00"
    assert archive.document["publication_status"] == "active" and archive.document["sequence"] == 7


def test_licence_keeps_its_own_status_field() -> None:
    record = decision("licence", licence())
    public, archive = documents_for(state(record), NAMES, indexed_at=NOW)
    assert public.document["status"] == archive.document["status"] == "1"
    assert public.index == "sgs-licences"


def test_revoke_of_a_decision_never_seen_is_a_withdrawn_stub() -> None:
    public, archive = documents_for(state(None, status="revoked", sequence=1), NAMES, indexed_at=NOW)
    assert public.document == {
        "decision_id": "penalty:11411500005000010X:信环罚〔2020〕9号",
        "kind": "penalty",
        "sequence": 1,
        "indexed_at": NOW.isoformat(),
        "withdrawn": True,
        "withdrawn_reason": "revoked",
    }
    assert archive.document["publication_status"] == "revoked" and archive.version == 1


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(KINDS), status=st.sampled_from(STATUSES), person=st.booleans(), sequence=st.integers(1, 2**40)
)
def test_public_documents_are_masked_and_withdrawn_unless_active(
    kind: Kind, status: str, person: bool, sequence: int
) -> None:
    raw = natural_person(kind) if person else (licence() if kind == "licence" else penalty())
    record = decision(kind, raw)
    public, archive = documents_for(state(record, status=status, sequence=sequence), NAMES, indexed_at=NOW)
    never = {f.name for f in fields_of(kind) if f.publicity == "never"}
    text = json.dumps(public.document, ensure_ascii=False)
    assert not never & public.document.keys()
    assert PERSON_ID not in text and LEGAL_REP_ID not in text
    assert public.document.keys() <= public_mapping(kind)["properties"].keys()
    assert public.document["withdrawn"] is (status != "active")
    assert public.document["withdrawn_reason"] == (None if status == "active" else status)
    assert public.index == NAMES.public_alias(kind) and archive.index == NAMES.archive
    assert public.version == archive.version == public.document["sequence"] == sequence
    assert archive.document["publication_status"] == status


def test_a_dead_letter_fits_the_rejections_mapping() -> None:
    from sgs.connectors.search_indices import rejections_mapping
    from sgs.streams.rejections import rejection_document

    record = {
        "event_id": "e-1",
        "decision_id": "penalty:X:信环罚〔2025〕1号",
        "department_code": "X",
        "kind": "penalty",
        "source_topic": "sgs.decisions.submitted",
        "source_partition": 2,
        "source_offset": 41,
        "original": b"\x00bytes",
        "problems": [{"field": "subject_name", "code": "field.required", "message": "行政相对人名称为必填项"}] * 2,
        "rejected_at": NOW,
    }
    document = rejection_document(record, NOW)
    assert document.keys() <= rejections_mapping()["properties"].keys()
    assert document["problem_codes"] == ["field.required"] and "original" not in document
    assert mapping_for(NAMES, "sgs-rejections") == rejections_mapping()
