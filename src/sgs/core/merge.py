"""Merging the versions of one decision: whatever order and however often they arrive, the same result.

Every submission of a decision id is ranked by (version, revoke over upsert, content hash). The state keeps
the highest-ranked submission; a lower one changes nothing. Because the rank is a total order, any arrival
order of the same submissions converges to the same state, and a resubmission (same rank) is a duplicate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

Operation = Literal["upsert", "revoke"]


class Outcome(StrEnum):
    APPLIED = "applied"  # the state changed; emit it
    DUPLICATE = "duplicate"  # the same submission again
    STALE = "stale"  # an older version arrived late


@dataclass(frozen=True, slots=True)
class MergeState:
    """What the merge step remembers per decision id."""

    version: int
    operation: Operation
    content_hash: str
    event_id: str

    @property
    def rank(self) -> tuple[int, bool, str]:
        return (self.version, self.operation == "revoke", self.content_hash)

    @property
    def revoked(self) -> bool:
        return self.operation == "revoke"


def merge(current: MergeState | None, submission: MergeState) -> tuple[Outcome, MergeState | None]:
    """The outcome of `submission` against `current`, and the state to keep."""
    if current is None or submission.rank > current.rank:
        return Outcome.APPLIED, submission
    if submission.rank == current.rank:
        return Outcome.DUPLICATE, current
    return Outcome.STALE, current


def content_hash(content: dict[str, Any] | None) -> str:
    """A stable hash of a normalized decision (key order and formatting do not matter)."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
