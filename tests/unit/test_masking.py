from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from sgs.core.decision import Decision
from sgs.core.fields import Kind, fields_of
from sgs.core.masking import archive_view, public_view
from sgs.core.validate import validate

from .factories import LEGAL_REP_ID, PERSON_ID, TODAY, licence, make_ric, natural_person, penalty

NEVER = {kind: {f.name for f in fields_of(kind) if f.publicity == "never"} for kind in ("licence", "penalty")}


def _record(kind: Kind, raw: Mapping[str, object]) -> Decision:
    result = validate(kind, raw, today=TODAY)
    assert result.record is not None, result.problems
    return result.record


def test_public_view_masks_and_drops() -> None:
    view = public_view(_record("penalty", natural_person()))
    assert view["id_number"] == PERSON_ID[:6] + "*" * 12
    view = public_view(_record("penalty", penalty()))
    assert "legal_representative_id_number" not in view
    assert LEGAL_REP_ID not in json.dumps(view, ensure_ascii=False)
    assert view["fine_amount"] == "0.2" and view["penalty_categories"] == ["警告", "罚款"]
    assert view["decision_date"] == "2025-06-03" and view["publication_end"] == "2025-09-03"


def test_archive_view_keeps_everything_and_serializes() -> None:
    view = archive_view(_record("penalty", penalty()))
    assert view["legal_representative_id_number"] == LEGAL_REP_ID
    assert view["deadline"] == "2025-06-12" and view["deadline_provisional"] is False
    json.dumps(view, ensure_ascii=False)


def test_licence_views() -> None:
    view = public_view(_record("licence", licence()))
    assert view["status"] == "1" and view["valid_to"] == "2030-06-02" and "publication_end" not in view


_births = st.dates(min_value=date(1930, 1, 1), max_value=date(2000, 12, 31))
_regions = st.sampled_from(["411502", "411503", "411521", "110101", "440305"])


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["licence", "penalty"]),
    person_born=_births,
    rep_born=_births,
    region=_regions,
    sequence=st.from_regex(r"[0-9]{3}", fullmatch=True),
    person=st.booleans(),
)
def test_no_never_public_field_and_no_unmasked_id_number(
    kind: Kind, person_born: date, rep_born: date, region: str, sequence: str, person: bool
) -> None:
    person_id = make_ric(region, person_born, sequence)
    rep_id = make_ric(region, rep_born, sequence)
    if person:
        raw = natural_person(kind, id_number=person_id)
    else:
        raw = (licence if kind == "licence" else penalty)(legal_representative_id_number=rep_id, id_number=person_id)
    view = public_view(_record(kind, raw))
    text = json.dumps(view, ensure_ascii=False)
    assert not NEVER[kind] & view.keys()
    assert person_id not in text and rep_id not in text
    assert person_id[6:] not in text
    if "id_number" in view:
        assert view["id_number"] == person_id[:6] + "*" * 12
