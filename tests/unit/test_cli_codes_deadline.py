"""`sgs codes check` and `sgs deadline`, through the root command as users call them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sgs.cli.main import cli

ARRANGEMENT_2027 = """\
year: 2027
holidays: [{name: 春节, from: 2027-02-06, to: 2027-02-13}]
makeup_days: [2027-02-14, 2027-02-20]
"""


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, list(args), input=stdin, env=env or {"SGS_CALENDAR_DIR": ""})
    return result.exit_code, result.output.splitlines()


# --- codes ---------------------------------------------------------------------------------------------------------


def test_codes_all_valid() -> None:
    code, lines = run("codes", "check", "91350100M000100Y43", "71526726-X", "11010519491231002X")
    assert code == 0
    assert lines == [
        "91350100M000100Y43\tvalid\tuscc\t",
        "71526726-X\tvalid\torg\t",
        "11010519491231002X\tvalid\tric\t",
    ]


def test_codes_invalid_input_is_reported_as_given() -> None:
    code, lines = run(
        "codes", "check", "91350100M000100Y44", " ９１３５０１００ｍ０００１００ｙ４３", "9135010OM000100Y4"
    )
    assert code == 1
    assert (
        lines[0]
        == "91350100M000100Y44\tinvalid\tuscc\tuscc.check_character 第18位校验码应为3，实为4（代码中可能有录入错误）"
    )
    assert lines[1] == " ９１３５０１００ｍ０００１００ｙ４３\tvalid\tuscc\t"
    assert lines[2] == "9135010OM000100Y4\tinvalid\tuscc\tuscc.length 统一社会信用代码应为18位，实为17位"
    assert all(len(line.split("\t")) == 4 for line in lines)


def test_codes_explain() -> None:
    code, lines = run("codes", "check", "--explain", "91350100M000100Y43")
    assert code == 0
    assert lines[1:] == [
        "    登记管理部门: 9 市场监管",
        "    机构类别: 1 企业",
        "    登记管理机关行政区划码: 350100",
        "    主体标识码(组织机构代码): M000100Y4",
        "    校验码: 3",
    ]


def test_codes_from_stdin() -> None:
    code, lines = run("codes", "check", "-", stdin="91350100M000100Y43\n\n71526726-1\n")
    assert code == 1
    assert [line.split("\t")[1] for line in lines] == ["valid", "invalid"]
    assert lines[1].endswith("org.check_character 第9位校验码应为X，实为1")


def test_codes_empty_argument_and_tabs() -> None:
    code, lines = run("codes", "check", "", "a\tb")
    assert code == 1
    assert lines[0] == "\tinvalid\tuscc\tcode.empty 代码为空"
    assert lines[1].split("\t")[0] == "a b"


def test_codes_help() -> None:
    code, lines = run("codes", "check", "--help")
    assert code == 0 and any("统一社会信用代码" in line for line in lines)


# --- deadline ------------------------------------------------------------------------------------------------------


def test_deadline_shapes() -> None:
    code, lines = run("deadline", "2025-01-24", "2025/1/24", "20250124", "2025年1月24日", "45681")
    assert code == 0
    assert [line.split("\t")[1] for line in lines] == ["2025-02-10"] * 5
    assert lines[0] == "2025-01-24\t2025-02-10"


def test_deadline_explain() -> None:
    code, lines = run("deadline", "--explain", "2025-01-24")
    assert code == 0
    assert lines == [
        "2025-01-24\t2025-02-10",
        "    1  2025-01-26 星期日 调休上班",
        "    2  2025-01-27 星期一",
        "    3  2025-02-05 星期三",
        "    4  2025-02-06 星期四",
        "    5  2025-02-07 星期五",
        "    6  2025-02-08 星期六 调休上班",
        "    7  2025-02-10 星期一",
    ]


def test_deadline_provisional_without_data() -> None:
    code, lines = run("deadline", "--explain", "2027-02-05")
    assert code == 0
    assert lines[0] == "2027-02-05\t2027-02-16\tprovisional"
    assert "2027年无放假安排" in lines[1]


def test_deadline_with_calendar_dir(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(ARRANGEMENT_2027, encoding="utf-8")
    code, lines = run("deadline", "--calendar-dir", str(tmp_path), "2027-02-05")
    assert (code, lines) == (0, ["2027-02-05\t2027-02-20"])
    # the same through the environment
    code, lines = run("deadline", "2027-02-05", env={"SGS_CALENDAR_DIR": str(tmp_path)})
    assert (code, lines) == (0, ["2027-02-05\t2027-02-20"])


def test_deadline_bad_calendar_file(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text("year: 2027\nholidays: []\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["deadline", "--calendar-dir", str(tmp_path), "2027-02-05"])
    assert result.exit_code == 1
    assert "2027.yaml" in result.output and "holidays" in result.output


def test_deadline_bad_dates() -> None:
    code, lines = run("deadline", "2024-02-30", "20240230", "2025-01-24", "12345", "")
    assert code == 1
    assert lines[0] == "2024-02-30\tinvalid\tdate.invalid 2024-02-30不是有效日期（2024年2月没有30日）"
    assert lines[1].startswith("20240230\tinvalid\tdate.invalid")
    assert lines[2] == "2025-01-24\t2025-02-10"
    assert lines[3].startswith("12345\tinvalid\tdate.serial_range")
    assert lines[4] == "\tinvalid\tdate.empty 日期为空"


def test_deadline_stdin() -> None:
    code, lines = run("deadline", "-", stdin="2025-01-24\n2024-02-08\n")
    assert code == 0
    assert lines == ["2025-01-24\t2025-02-10", "2024-02-08\t2024-02-23"]


def test_deadline_help() -> None:
    code, lines = run("deadline", "--help")
    assert code == 0 and any("工作日" in line for line in lines)
