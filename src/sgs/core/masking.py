"""Projections of a decision: what the public may see, and the complete archive copy.

The public view is driven by the field table's publicity column (STANDARD.md §6): `never` fields are dropped,
`masked` ones pass through `mask_id_number`. Both views are JSON-ready: dates as ISO strings, amounts (万元)
as decimal strings, multi-valued fields as lists.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from typing import Any

from sgs.core.codes import mask_id_number
from sgs.core.decision import Decision
from sgs.core.fields import Kind, Publicity, fields_of
from sgs.core.normalize import Value


def json_value(value: Value) -> str | list[str]:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


@functools.cache
def _publicity(kind: Kind) -> tuple[tuple[str, Publicity], ...]:
    return tuple((f.name, f.publicity) for f in fields_of(kind))


def _common(decision: Decision) -> dict[str, Any]:
    view: dict[str, Any] = {
        "kind": decision.kind,
        "decision_id": decision.decision_id,
        "subject_code": decision.subject_code,
    }
    if decision.publication_end is not None:
        view["publication_end"] = decision.publication_end.isoformat()
    return view


def public_view(decision: Decision) -> dict[str, Any]:
    """The fields the public may see, masked as the table says; absent fields are left out."""
    view = _common(decision)
    values = decision.values
    for name, publicity in _publicity(decision.kind):
        value = values.get(name)
        if value is None or publicity == "never":
            continue
        if publicity == "masked":
            view[name] = mask_id_number(value) if isinstance(value, str) else None
        else:
            view[name] = json_value(value)
    return view


def archive_view(decision: Decision) -> dict[str, Any]:
    """Everything the platform knows of the decision (for the authenticated archive), JSON-serializable."""
    view = _common(decision)
    view["deadline"] = decision.deadline.date.isoformat()
    view["deadline_provisional"] = decision.deadline.provisional
    for name, value in decision.values.items():
        view[name] = json_value(value)
    return view
