"""Click parameter checks the commands share."""

from __future__ import annotations

import dataclasses

import click

from sgs.config import Settings
from sgs.core.codes import check_uscc, normalize_code
from sgs.core.publication import PublicationRulesError
from sgs.core.validate import ValidationOptions


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


class UnusableConfiguration(click.ClickException):
    """A configuration file that cannot be used: exit status 2, as for any unusable input."""

    exit_code = 2


def validation_options(settings: Settings, *, strict: bool = False) -> ValidationOptions:
    """Validation with the publication rules file of the settings (SGS_PUBLICATION_RULES_PATH), as the worker
    does it; a file that cannot be used stops the command with the file, the key and the reason."""
    from sgs.connectors.publisher import validation_options as platform_options

    try:
        options = platform_options(settings)
    except PublicationRulesError as exc:
        raise UnusableConfiguration(f"公示规则文件无法使用 (publication rules): {exc}") from exc
    return dataclasses.replace(options, strict=strict)
