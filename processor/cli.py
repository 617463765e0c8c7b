"""The `sla-processor` command line: the group and its commands, one module each in
`processor/commands/`. Each command builds its settings itself and passes them down."""

from __future__ import annotations

import click

from processor import __version__
from processor.commands.alerts import alerts
from processor.commands.demo import demo
from processor.commands.errors import IoErrorsGroup
from processor.commands.events import events
from processor.commands.policy import policy
from processor.commands.replay import replay
from processor.commands.report import report
from processor.commands.simulate import simulate
from processor.commands.topics import topics
from processor.commands.worker import worker
from processor.ingest.command import ingest
from processor.paging.command import page

__all__ = ["cli", "main"]


@click.group(cls=IoErrorsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sla-processor")
def cli() -> None:
    """Watch support tickets against their SLA; raise near-breach, breach and resolved alerts."""


for _command in (
    replay,
    report,
    worker,
    topics,
    alerts,
    events,
    policy,
    simulate,
    demo,
    ingest,
    page,
):
    cli.add_command(_command)


def main() -> None:
    cli()
