"""A problem found in input: which field, a machine-readable code, and a message a clerk understands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a record cannot be published.

    `field` is the field's English name (or "" for the record as a whole); `code` is a stable dotted English
    identifier (e.g. "uscc.check_character") for machines and dashboards; `message` is Chinese, for the clerk.
    """

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}
