from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner, Result

from sgs.cli.main import cli

from .factories import AUTHORITY, TODAY, chinese, licence, penalty


def _csv(path: Path, records: list[dict[str, object]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(records[0]))
    for record in records:
        writer.writerow(list(record.values()))
    path.write_text(out.getvalue(), encoding="utf-8-sig")


def _run(*args: object) -> Result:
    return CliRunner().invoke(cli, ["validate", *map(str, args), "--today", TODAY.isoformat()])


def test_all_valid_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    _csv(path, [chinese("penalty", penalty())] * 3)
    result = _run(path)
    assert result.exit_code == 0, result.output
    assert "共读取 3 条记录，有效 3 条，无效 0 条" in result.stdout


def test_invalid_records_are_reported_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    _csv(path, [chinese("penalty", penalty()), chinese("penalty", penalty(fine_amount="2000", facts=""))])
    result = _run(path)
    assert result.exit_code == 1
    assert "第3行" in result.stdout
    assert "罚款金额（万元）（fine_amount）  amount.implausible" in result.stdout
    assert "违法事实（facts）  field.required" in result.stdout
    assert "有效 1 条，无效 1 条" in result.stdout


def test_json_output(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    lines = [json.dumps(licence(), ensure_ascii=False), "{oops", json.dumps(licence(status="9"), ensure_ascii=False)]
    path.write_text("\n".join(lines), encoding="utf-8")
    result = _run(path, "--json", "--kind", "licence")
    assert result.exit_code == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("row") for o in objects[:-1]] == [2, 3]
    assert objects[0]["problems"][0]["code"] == "row.malformed"
    assert objects[1]["problems"] == [
        {
            "field": "status",
            "code": "enum.unknown",
            "message": objects[1]["problems"][0]["message"],
            "field_zh": "当前状态",
        }
    ]
    summary = objects[-1]["summary"]
    assert summary["records"] == 3 and summary["valid"] == 1 and summary["invalid"] == 2
    assert summary["problem_codes"] == {"row.malformed": 1, "enum.unknown": 1}


def test_kind_detected_from_headers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    _csv(path, [chinese("licence", licence())])
    result = _run(path, "--json")
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["kind"] == "licence"


def test_unusable_input_exits_2(tmp_path: Path) -> None:
    assert _run(tmp_path / "missing.csv").exit_code == 2
    unknown = tmp_path / "u.csv"
    unknown.write_text("a,b\n1,2\n", encoding="utf-8")
    result = _run(unknown)
    assert result.exit_code == 2 and "--kind" in result.stderr
    assert _run(tmp_path / "x.txt").exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    for args in ((empty,), (empty, "--kind", "penalty")):
        result = _run(*args)
        assert result.exit_code == 2 and "没有数据行" in result.stderr


def test_strict_makes_unknown_columns_problems(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    _csv(path, [chinese("penalty", penalty()) | {"序号": "1"}])
    assert _run(path).exit_code == 0
    assert "未识别的列（未校验）：序号" in _run(path).stdout
    assert _run(path, "--strict").exit_code == 1


def test_the_publication_rules_file_is_the_workers(tmp_path: Path) -> None:
    """`sgs validate` checks a supplied 公示截止期 against the same rules file as the worker (per department)."""
    path = tmp_path / "p.csv"
    food = penalty(illegal_act_type="违反食品安全法", decision_date="2025-06-03", publication_end="2025-09-03")
    _csv(path, [chinese("penalty", food)])
    assert _run(path).exit_code == 0
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"departments:\n  {AUTHORITY}: {{floor_keywords: [食品安全]}}\n", encoding="utf-8")
    env = {"SGS_PUBLICATION_RULES_PATH": str(rules)}
    result = CliRunner().invoke(cli, ["validate", str(path), "--today", TODAY.isoformat()], env=env)
    assert result.exit_code == 1 and "publication_end.too_early" in result.stdout
    rules.write_text("negative_list: [{reason: x}]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path), "--today", TODAY.isoformat()], env=env)
    assert result.exit_code == 2
    assert f"{rules}: negative_list[1]: 不列 fields" in result.output
