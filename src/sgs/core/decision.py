"""A validated decision: normalized, typed values plus what the platform computes from them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sgs.core.deadline import Deadline
from sgs.core.fields import Kind
from sgs.core.normalize import Value

NATURAL_PERSON = "自然人"
SOLE_PROPRIETOR = "个体工商户"


@dataclass(frozen=True, slots=True)
class Decision:
    """One licensing or penalty decision that passed validation.

    `values` holds the fields that were given, by English name (see schemas/fields.yaml), typed: text and codes
    as str, dates as date, amounts (万元) as Decimal, 处罚类别 as a tuple of 2021 categories.
    """

    kind: Kind
    decision_id: str
    values: Mapping[str, Value]
    decision_date: date
    deadline: Deadline
    subject_code: str | None  # the subject's unified social credit code; None for natural persons
    publication_end: date | None  # penalties: 公示截止期 (supplied or computed); licences: None

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def date_of(self, name: str) -> date | None:
        value = self.values.get(name)
        return value if isinstance(value, date) else None

    def amount(self, name: str) -> Decimal | None:
        value = self.values.get(name)
        return value if isinstance(value, Decimal) else None

    @property
    def penalty_categories(self) -> tuple[str, ...]:
        value = self.values.get("penalty_categories")
        return value if isinstance(value, tuple) else ()

    @property
    def natural_person(self) -> bool:
        return self.values.get("subject_category") == NATURAL_PERSON


def person_key(id_number: str, secret: bytes) -> str:
    """HMAC-SHA256 (hex) of a normalized ID number: a stable key for a natural person that reveals nothing
    without the platform's secret."""
    return hmac.new(secret, id_number.encode("utf-8"), hashlib.sha256).hexdigest()


def is_person_key(key: str) -> bool:
    """Whether a subject key is a natural person's keyed hash (person_key), not a unified code."""
    return len(key) == 64


def subject_key(decision: Decision, *, secret: bytes) -> str | None:
    """The key that groups a subject's decisions (sanction alerts, entity pages): the unified code for
    organizations and 个体工商户 that have one, the keyed hash of the ID number for natural persons (64 hex
    characters, so it never collides with an 18-character code); None when the record carries neither."""
    if decision.subject_code is not None:
        return decision.subject_code
    id_number = decision.text("id_number")
    return person_key(id_number, secret) if id_number else None
