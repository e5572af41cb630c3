"""A problem found in input: which field, a machine-readable code, and a message a clerk understands."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sgs.core.text import without_surrogates


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a record cannot be published.

    `field` is the field's English name (or "" for the record as a whole); `code` is a stable dotted English
    identifier (e.g. "uscc.check_character") for machines and dashboards; `message` is Chinese, for the clerk.
    """

    field: str
    code: str
    message: str

    def __post_init__(self) -> None:
        # Messages quote the input, and an unknown field's name is input: a lone surrogate must not go with it.
        object.__setattr__(self, "field", without_surrogates(self.field))
        object.__setattr__(self, "message", without_surrogates(self.message))

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


def dead_letter_id(record: Mapping[str, Any]) -> str:
    """A dead letter's identity: where the refused event was read, and which problems it had. The worker refuses
    the same event again after a crash (its offset had not been committed): that dead letter gets the same id,
    so the rejections index and departments' webhooks can tell it is a repeat. Dead letters of one event that
    differ (its checks' problems, then Elasticsearch refusing its documents) differ in their problem codes."""
    codes = "\n".join(sorted({problem["code"] for problem in record["problems"]}))
    digest = hashlib.sha256(codes.encode()).hexdigest()[:16]  # many codes would pass the 512-byte id limit
    return f"{record['source_topic']}:{record['source_partition']}:{record['source_offset']}:{digest}"
