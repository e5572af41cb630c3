"""Every problem code a record can be refused with has a Chinese name for the dashboard."""

from __future__ import annotations

import re
from pathlib import Path

from sgs.core.problem_labels import LABELS, problem_label

ROOT = Path(__file__).resolve().parents[2]
# src/sgs links to the top-level folders (rglob does not follow the links): each is read on its own.
SOURCES = [ROOT / "src" / "sgs", ROOT / "connectors", ROOT / "streams", ROOT / "web"]
_CODE = re.compile(r'"([a-z_]+\.[a-z_]+)"')
# The dotted strings of the sources that are not problem codes: Kafka and topic settings, index fields, files.
_PREFIXES = {code.split(".")[0] for code in LABELS}


def test_every_problem_code_in_the_sources_has_a_label() -> None:
    found = {
        code
        for root in SOURCES
        for path in root.rglob("*.py")
        if path.name != "problem_labels.py"
        for code in _CODE.findall(path.read_text(encoding="utf-8"))
        if code.split(".")[0] in _PREFIXES
    }
    assert found, "no problem codes found: the pattern no longer matches the sources"
    assert sorted(found - set(LABELS)) == []


def test_a_code_without_a_label_is_shown_as_itself() -> None:
    assert problem_label("uscc.check_character") == "统一社会信用代码校验位错误"
    assert problem_label("future.code") == "future.code"
