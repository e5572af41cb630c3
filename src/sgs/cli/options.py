"""Click parameter checks the commands share."""

from __future__ import annotations

import click

from sgs.core.codes import check_uscc, normalize_code


def unified_code_of(value: str) -> str:
    """A unified social credit code, normalized; a clear usage error otherwise."""
    checked = check_uscc(value)
    if not checked.valid:
        raise click.BadParameter(f"{value}：不是有效的统一社会信用代码：{checked.reason}")
    return normalize_code(value)


def unified_code(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    return unified_code_of(value)


def unified_codes(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    return [unified_code_of(value) for value in values]
