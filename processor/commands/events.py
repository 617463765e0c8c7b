"""`sla-processor events export`: the input topic as JSON lines for replay and report."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from typing import IO, Any

import click

from processor.commands.options import Instant, settings_from, worker_options
from processor.export import ExportStats, export_events

__all__ = ["events"]


@click.group()
def events() -> None:
    """Read the input topic."""


@events.command("export")
@worker_options
@click.option("--from", "start", type=Instant(), help="First record time (Kafka timestamp).")
@click.option("--to", "end", type=Instant(), help="Records from this time on are left out.")
@click.option(
    "--out", "-o", type=click.File("w", encoding="utf-8"), default="-", help="Output file."
)
def export(start: datetime | None, end: datetime | None, out: IO[str], **flags: Any) -> None:
    """Write the input topic (or a time range of it) as JSON lines with each record's
    `partition`, up to the end offsets at the start; `replay` and `report` read the result."""
    settings = settings_from(**flags)
    show = _progress if sys.stderr.isatty() else None
    try:
        stats = asyncio.run(export_events(settings, out, start=start, end=end, progress=show))
        out.flush()
    except LookupError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the export: {exc.strerror or exc}") from None
    if show is not None:
        click.echo("", err=True)
    click.echo(stats.summary(), err=True)


_last = [0.0]


def _progress(stats: ExportStats) -> None:
    now = time.monotonic()
    if now - _last[0] >= 1.0:
        _last[0] = now
        click.echo(f"\rexport: {stats.written:,} events", err=True, nl=False)
