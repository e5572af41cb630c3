from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import fastavro
import pytest
from fastavro.utils import generate_many

from sgs.core.fields import fields_of
from sgs.schemas.contracts import decode, encode, history_versions, load_schema, schema_text
from sgs.schemas.generate import GENERATED, main, render

from .factories import AUTHORITY, penalty


def test_committed_schemas_equal_the_generated_ones() -> None:
    for name, text in render().items():
        assert schema_text(name) == text, f"run python -m sgs.schemas.generate ({name}.avsc is stale)"


def test_a_change_in_the_generator_output_is_caught(tmp_path: Path) -> None:
    main(tmp_path)
    for name in GENERATED:
        assert (tmp_path / f"{name}.avsc").read_text(encoding="utf-8") == schema_text(name)
    changed = json.loads(render()["penalty"])
    changed["fields"][0]["doc"] = "changed"
    assert json.dumps(changed, ensure_ascii=False, indent=2) + "\n" != schema_text("penalty")


def test_every_decision_field_is_an_optional_string() -> None:
    for kind in ("licence", "penalty"):
        schema = json.loads(schema_text(kind))
        assert [f["name"] for f in schema["fields"]] == [f.name for f in fields_of(kind)]
        for field in schema["fields"]:
            assert field["type"] == ["null", "string"] and field["default"] is None


def _submission(decision: dict[str, object] | None, operation: str = "upsert") -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "operation": operation,
        "version": 1_750_000_000_000,
        "department_code": AUTHORITY,
        "submitted_at": datetime(2025, 6, 3, 8, 30, tzinfo=UTC),
        "source": "sdk",
        "kind": "penalty",
        "decision_id": f"penalty:{AUTHORITY}:信市监罚〔2025〕12号",
        "decision": decision,
        "original": {"罚款金额（万元）": "0.2"} if decision else None,
    }


def test_round_trip() -> None:
    decision: dict[str, object] = {k: str(v) for k, v in penalty().items()}
    for name, record in (("penalty", decision), ("submission", _submission(decision))):
        back = decode(name, encode(name, record))
        if name == "penalty":
            assert {k: v for k, v in back.items() if v is not None} == decision
        else:
            assert back["decision"] == {f.name: decision.get(f.name) for f in fields_of("penalty")}
            assert back["submitted_at"] == record["submitted_at"]
            assert str(back["event_id"]) == record["event_id"]


def test_revoke_carries_no_decision_and_unknown_operations_still_decode() -> None:
    back = decode("submission", encode("submission", _submission(None, operation="delete-everything")))
    assert back["decision"] is None and back["operation"] == "delete-everything"


@pytest.mark.parametrize("name", GENERATED)
def test_current_schema_reads_every_released_version(name: str) -> None:
    versions = history_versions(name)
    assert versions, f"avro/history/{name}.v1.avsc is missing"
    decision: dict[str, object] = {k: str(v) for k, v in penalty().items()}
    record = _submission(decision) if name == "submission" else {"subject_name": "某公司"}
    if name == "penalty":
        record = decision
    for version in versions:
        old = load_schema(name, version)
        out = io.BytesIO()
        fastavro.schemaless_writer(out, old, record)
        value = decode(name, out.getvalue(), writer=old)
        assert value.get("subject_name") or value.get("decision")


def test_writer_using_national_codes_is_read_through_aliases() -> None:
    # A producer that named fields by national code: Avro alias resolution maps them to English names.
    writer = fastavro.parse_schema(
        {
            "type": "record",
            "name": "Penalty",
            "namespace": "cn.sgs.v1",
            "fields": [{"name": "CF_NR_FK", "type": ["null", "string"], "default": None}],
        }
    )
    out = io.BytesIO()
    fastavro.schemaless_writer(out, writer, {"CF_NR_FK": "0.2"})
    assert decode("penalty", out.getvalue(), writer=writer)["fine_amount"] == "0.2"


ALL_SCHEMAS = sorted(
    p.name.removesuffix(".avsc")
    for p in (resources.files("sgs.schemas") / "avro").iterdir()
    if p.name.endswith(".avsc")
)


@pytest.mark.parametrize("name", ALL_SCHEMAS)
def test_every_contract_reads_random_data_of_every_released_version(name: str) -> None:
    versions = history_versions(name)
    assert versions, f"schemas/avro/history/{name}.v1.avsc is missing: release the contract (EVOLUTION.md)"
    for version in versions:
        old = load_schema(name, version)
        for record in generate_many(old, 20):
            out = io.BytesIO()
            fastavro.schemaless_writer(out, old, record)
            decode(name, out.getvalue(), writer=old)
