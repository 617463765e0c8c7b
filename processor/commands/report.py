"""`sla-processor report`: SLA compliance from a log (and a policy tried on it), as a terminal
table, CSV, JSON or one self-contained HTML file. The numbers come from `processor.report`."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import click

from processor.commands.inputs import Input, load_policy_or_exit, open_input
from processor.commands.options import Instant, policy_path, replay_options
from processor.domain.instants import check_zone
from processor.replay import BadLine
from processor.report import collect
from processor.report.aggregate import SORT_KEYS
from processor.report.tables import TABLES, Report, build

__all__ = ["report"]


class _Zone(click.ParamType):
    name = "ZONE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        try:
            return check_zone(str(value))
        except ValueError as exc:
            self.fail(str(exc))


@click.command()
@replay_options
@click.option(
    "--compare",
    "compare_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A second policy: both side by side, the deltas and the tickets whose outcome changes.",
)
@click.option("--from", "start", type=Instant(), help="Only tickets created at or after this.")
@click.option("--to", "end", type=Instant(), help="Only tickets created before this.")
@click.option(
    "--timezone", default="UTC", show_default=True, type=_Zone(), help="Day boundary of pages."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "json", "html"]),
    default="text",
    show_default=True,
)
@click.option(
    "--table",
    type=click.Choice(list(TABLES)),
    default="summary",
    show_default=True,
    help="The table --format csv writes.",
)
@click.option(
    "--sort",
    type=click.Choice(SORT_KEYS),
    default="over",
    show_default=True,
    help="Order of the breached tickets (over, share: largest first).",
)
@click.option(
    "--limit",
    type=click.IntRange(0, 100_000),
    default=20,
    show_default=True,
    help="Breaches and outcome changes listed in text and HTML (CSV and JSON list all).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write here instead of standard output.",
)
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@click.argument("source", type=click.Path(allow_dash=True), default="-")
def report(
    policy_file: Path | None,
    until: datetime | None,
    partitions: int | None,
    lateness: timedelta,
    max_skew: timedelta,
    compare_file: Path | None,
    start: datetime | None,
    end: datetime | None,
    timezone: str,
    fmt: str,
    table: str,
    sort: str,
    limit: int,
    out: Path | None,
    quiet: bool,
    source: str,
) -> None:
    """Replay events (JSON lines, FILE or - for stdin) and report SLA compliance.

    Per metric, tier and priority: tickets met, breached and still running, compliance, time to
    stop against the target; pages per day; the breached tickets by how far over. --compare
    replays the same log under a second policy. The replay is `replay`'s (same options)."""
    if start is not None and end is not None and end <= start:
        raise click.BadParameter("--to must be after --from", param_hint="--to")
    policies = [load_policy_or_exit(policy_path(policy_file), "report")]
    if compare_file is not None:
        policies.append(load_policy_or_exit(compare_file, "report"))
    bad: list[BadLine] = []

    def on_bad(line: BadLine) -> None:
        bad.append(line)
        click.echo(f"report: {line}", err=True)

    with open_input(source) as handle:
        lines = Input(handle, "standard input" if source == "-" else source)
        progress = _Progress(handle, enabled=not quiet and sys.stderr.isatty())
        ledgers = collect(
            progress(lines),
            policies,
            until=until,
            lateness=lateness,
            max_skew=max_skew,
            partitions=partitions,
            on_bad=on_bad,
        )
    if lines.nonblank and len(bad) == lines.nonblank:
        raise click.ClickException(
            f"no valid event in {lines.name}: all {len(bad)} line(s) invalid"
        )
    result = build(ledgers, start=start, end=end, timezone=timezone, sort=sort)
    _write(result, fmt, table, limit, out)
    if not quiet:
        click.echo(ledgers[0].stats.summary().replace("replay:", "report:", 1), err=True)


def _write(result: Report, fmt: str, table: str, limit: int, out: Path | None) -> None:
    from rich.console import Console  # the formats load only when used

    from processor.report import html, machine, text

    handle: IO[str] = sys.stdout if out is None else out.open("w", encoding="utf-8")
    try:
        if fmt == "text":
            terminal = out is None and sys.stdout.isatty()
            console = Console(file=handle, width=None if terminal else 180)
            text.write_text(result, console, limit)
        elif fmt == "csv":
            machine.write_csv(result, table, handle)
        elif fmt == "json":
            machine.write_json(result, handle)
        else:
            html.write_html(result, handle, limit)
    finally:
        if out is not None:
            handle.close()


class _Progress:
    """A rich progress bar on stderr while reading (bytes of a regular file, else lines)."""

    def __init__(self, handle: IO[bytes], enabled: bool) -> None:
        self.enabled = enabled
        self.total: int | None = None
        if enabled:
            try:
                info = os.fstat(handle.fileno())
                self.total = info.st_size if stat.S_ISREG(info.st_mode) else None
            except (OSError, ValueError):
                self.total = None

    def __call__(self, lines: Input) -> Iterator[bytes]:
        return self._iterate(lines) if self.enabled else lines

    def _iterate(self, lines: Input) -> Iterator[bytes]:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("report: replaying", total=self.total)
            done = 0
            for count, line in enumerate(lines, start=1):
                done += len(line)
                if count & 0x1FFF == 0:
                    bar.update(task, completed=done)
                yield line
            bar.update(task, completed=done)
