"""Generate the decision schemas in schemas/avro/ from the field table: `python -m sgs.schemas.generate`.

licence.avsc and penalty.avsc carry every field of the standard as an optional string: a submission holds
the department's text, so content that is schema-valid but invalid by the standard is representable and
reaches the dead letters with reasons instead of failing deserialization. submission.avsc is the envelope
every submission carries. The committed files must equal what `render()` produces (a test checks this);
follow schemas/EVOLUTION.md when changing the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sgs.core.fields import Kind, fields_of

NAMESPACE = "cn.sgs.v1"
RECORD_NAMES: dict[Kind, str] = {"licence": "Licence", "penalty": "Penalty"}
GENERATED = ("licence", "penalty", "submission")
AVRO_DIR = Path(__file__).resolve().parent / "avro"

_RECORD_DOCS: dict[Kind, str] = {
    "licence": "行政许可 — one licensing decision as the department submitted it (national standard fields, text).",
    "penalty": "行政处罚 — one penalty decision as the department submitted it (national standard fields, text).",
}


def decision_schema(kind: Kind) -> dict[str, Any]:
    return {
        "type": "record",
        "name": RECORD_NAMES[kind],
        "namespace": NAMESPACE,
        "doc": _RECORD_DOCS[kind],
        "fields": [
            {"name": f.name, "type": ["null", "string"], "default": None, "aliases": [f.code], "doc": f.doc}
            for f in fields_of(kind)
        ],
    }


def submission_schema() -> dict[str, Any]:
    # operation, source and kind are strings, not Avro enums: an unknown value must be a validation problem
    # (dead letter with a reason), not a deserialization failure, and new values are data, not schema.
    return {
        "type": "record",
        "name": "Submission",
        "namespace": NAMESPACE,
        "doc": "提交 — the envelope of every submission of a decision (upsert or revoke).",
        "fields": [
            {
                "name": "event_id",
                "type": {"type": "string", "logicalType": "uuid"},
                "doc": "UUID of this submission, for tracing and idempotent replays",
            },
            {"name": "operation", "type": "string", "doc": "upsert | revoke"},
            {"name": "version", "type": "long", "doc": "monotonic per decision id; default: submission time in ms"},
            {"name": "department_code", "type": "string", "doc": "统一社会信用代码 of the submitting department"},
            {
                "name": "submitted_at",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "doc": "when the department submitted it (UTC)",
            },
            {"name": "source", "type": "string", "doc": "sdk | gateway | import"},
            {"name": "kind", "type": "string", "doc": "licence | penalty"},
            {"name": "decision_id", "type": "string", "doc": "kind:authority unified code:normalized 文号"},
            {
                "name": "decision",
                "type": ["null", decision_schema("licence"), decision_schema("penalty")],
                "default": None,
                "doc": "the decision's fields; null for revoke",
            },
            {
                "name": "original",
                "type": ["null", {"type": "map", "values": "string"}],
                "default": None,
                "doc": "the record as received (e.g. Chinese headers), for audit, when it differs from decision",
            },
        ],
    }


def render() -> dict[str, str]:
    """File name (without .avsc) -> the schema text to commit."""
    schemas = {
        "licence": decision_schema("licence"),
        "penalty": decision_schema("penalty"),
        "submission": submission_schema(),
    }
    return {name: json.dumps(schema, ensure_ascii=False, indent=2) + "\n" for name, schema in schemas.items()}


def main(directory: Path = AVRO_DIR) -> None:
    """Rewrite the generated .avsc files (other files in the directory are left alone)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (directory / f"{name}.avsc").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
