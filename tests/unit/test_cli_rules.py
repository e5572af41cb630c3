"""`sgs rules check`: what a publication rules file sets, or why it cannot be used."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sgs.cli.main import cli

EXAMPLE = Path(__file__).parents[2] / "deploy" / "publication" / "rules.example.yaml"


def test_the_example_file_is_described() -> None:
    result = CliRunner().invoke(cli, ["rules", "check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "默认 36 个月；警告 3 个月、通报批评 3 个月" in result.output
    assert "部门 11411500005000018R：默认 36 个月；警告 3 个月、通报批评 6 个月" in result.output
    assert "负面清单：3 条" in result.output and "不公示备注：个人家庭住址等不予公开" in result.output


def test_an_unusable_file_exits_2_naming_file_key_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("negative_list:\n  - reason: 按类别\n    categories: [罚款处罚]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["rules", "check"], env={"SGS_PUBLICATION_RULES_PATH": str(bad)})
    assert result.exit_code == 2
    assert f"{bad}: negative_list[1].categories: “罚款处罚”不是" in result.output


def test_without_a_file_the_national_defaults_apply() -> None:
    result = CliRunner().invoke(cli, ["rules", "check"], env={"SGS_PUBLICATION_RULES_PATH": ""})
    assert result.exit_code == 0 and "国家默认公示期限" in result.output
