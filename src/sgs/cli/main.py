"""`sgs`: the command line of operators, department clerks and anyone checking data by hand."""

from __future__ import annotations

import importlib

import click

from sgs import __version__

# Subcommands live in their own modules and are imported only when used, so `sgs codes check` does not
# pay for Faust or Kafka imports. name -> "module:attribute".
COMMANDS = {
    "stack": "sgs.cli.stack:stack",
    "topics": "sgs.cli.topics:topics",
    "codes": "sgs.cli.codes:codes",
    "deadline": "sgs.cli.deadline:deadline",
    "demo": "sgs.cli.demo:demo",
    "validate": "sgs.cli.validate:validate",
    "publish": "sgs.cli.publish:publish",
    "departments": "sgs.cli.departments:departments",
    "gateway": "sgs.cli.gateway:gateway",
    "status": "sgs.cli.status:status",
    "web": "sgs.cli.web:web",
    "search": "sgs.cli.search:search",
    "supervisors": "sgs.cli.supervisors:supervisors",
    "watchlist": "sgs.cli.watchlist:watchlist",
    "worker": "sgs.cli.worker:worker",
    "reindex": "sgs.cli.reindex:reindex",
    "rules": "sgs.cli.rules:rules",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sgs")
def cli() -> None:
    """sgs — 双公示实时发布平台 (real-time publication of licensing and penalty decisions).

    Settings come from SGS_* environment variables (see README, "Configuration").
    """


if __name__ == "__main__":
    cli()
