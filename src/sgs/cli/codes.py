"""`sgs codes check`: check unified social credit codes, organization codes and resident ID numbers by hand."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from sgs.core.codes import CodeCheck, check_code
from sgs.core.dates import CHINA_TZ


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def codes() -> None:
    """代码校验：统一社会信用代码、组织机构代码、公民身份号码 (check subject codes)."""


def _inputs(arguments: tuple[str, ...]) -> list[str]:
    """The codes to check: each argument, and for "-" every non-blank line of standard input."""
    found: list[str] = []
    for argument in arguments:
        if argument == "-":
            found += [line.rstrip("\r\n") for line in sys.stdin if line.strip()]
        else:
            found.append(argument)
    return found


def _cell(text: str) -> str:
    # Tabs and newlines inside a field would break the tab-separated columns.
    return " ".join(text.splitlines()).replace("\t", " ")


def _line(result: CodeCheck) -> str:
    state = "valid" if result.valid else "invalid"
    reason = f"{result.reason_code} {result.reason}" if result.reason_code else ""
    return "\t".join((_cell(result.input), state, result.kind, _cell(reason)))


@codes.command()
@click.argument("code", nargs=-1, required=True)
@click.option("--explain", is_flag=True, help="逐项解释代码各部分 (print what each part of the code means).")
def check(code: tuple[str, ...], explain: bool) -> None:
    """校验代码，每个输入输出一行：代码<TAB>valid|invalid<TAB>类型<TAB>原因。

    类型 (kind) 由长度判断：18位：有效的公民身份号码为 ric，否则按统一社会信用代码 uscc 校验；
    9位或 XXXXXXXX-X 为组织机构代码 org，15位数字为旧身份证号。CODE 为 "-" 时从标准输入逐行读取。
    全部有效时退出码为0，否则为1。

    Check codes, one output line per input: CODE, valid|invalid, kind (uscc/org/ric), reason code and
    Chinese reason. Reads one code per line from stdin for "-". Exit status 0 only if all are valid.
    """
    today = datetime.now(CHINA_TZ).date()
    all_valid = True
    for text in _inputs(code):
        result = check_code(text, today=today)
        all_valid &= result.valid
        click.echo(_line(result))
        if explain:
            for label, value in result.explanation:
                click.echo(f"    {label}: {value}")
    sys.exit(0 if all_valid else 1)
