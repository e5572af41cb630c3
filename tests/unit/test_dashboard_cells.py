"""What the supervisors' dashboard makes of department-written text in exports and of natural persons' keys."""

from __future__ import annotations

import pytest

from sgs.core.decision import is_person_key, person_key
from sgs.web.dashboard import spreadsheet_safe

from .factories import COMPANY


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","点击")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_that_excel_would_run_as_a_formula_is_exported_as_text(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["某某有限公司", "信市监罚〔2025〕1号", "", 12, -3, None, "a=b"])
def test_other_cells_are_exported_as_they_are(value: object) -> None:
    assert spreadsheet_safe(value) == value


def test_a_natural_persons_key_is_told_from_a_unified_code() -> None:
    assert is_person_key(person_key("411502199001011234", b"secret"))
    assert not is_person_key(COMPANY)


def test_alert_times_are_shown_inbeijing_time() -> None:
    from sgs.core.dates import beijing_time

    assert beijing_time("2026-12-04T07:06:26.123+00:00") == "2026-12-04 15:06:26"
    assert beijing_time("2026-12-03T20:00:00Z") == "2026-12-04 04:00:00"  # the next day in Beijing
    assert beijing_time(None) == ""
