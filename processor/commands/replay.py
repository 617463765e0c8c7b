"""`sla-processor replay`: the SLA core over a JSON-lines file, alerts as JSON lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import click

from processor.commands.inputs import Input, load_policy_or_exit, open_input
from processor.commands.options import policy_path, replay_options
from processor.replay import BadLine, Replayer, replay_lines

__all__ = ["replay"]


@click.command()
@replay_options
@click.option("--strict", is_flag=True, help="Exit non-zero if any input line is invalid.")
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@click.argument("source", type=click.Path(allow_dash=True), default="-")
def replay(
    policy_file: Path | None,
    until: datetime | None,
    partitions: int | None,
    lateness: timedelta,
    max_skew: timedelta,
    strict: bool,
    quiet: bool,
    source: str,
) -> None:
    """Run the SLA core over events (JSON lines, FILE or - for stdin); print alerts as JSON lines.

    Event time drives the clock: an alert for instant X is raised once the watermark of its
    ticket's partition (lines' `partition` field, as `events export` writes them) is past X,
    at the end of the input, or at --until. Invalid lines and outliers are reported on stderr
    with their line number and reason; the rest is processed. The same input always gives the
    same output. Exits 1 if no line at all was a valid event.
    """
    replayer = Replayer(
        load_policy_or_exit(policy_path(policy_file), "replay"),
        until=until,
        partitions=partitions,
        lateness=lateness,
        max_skew=max_skew,
    )
    bad: list[BadLine] = []

    def report(line: BadLine) -> None:
        bad.append(line)
        click.echo(f"replay: {line}", err=True)

    progress = _Progress(replayer, enabled=not quiet and sys.stderr.isatty())
    with open_input(source) as handle:
        lines = Input(handle, "standard input" if source == "-" else source)
        out = sys.stdout
        for alert in replay_lines(progress.wrap(lines), replayer, report):
            out.write(alert.to_json())
            out.write("\n")
        out.flush()
    progress.done()
    if not quiet:
        click.echo(replayer.stats.summary(), err=True)
    if lines.nonblank and len(bad) == lines.nonblank:
        raise click.ClickException(
            f"no valid event in {lines.name}: all {len(bad)} line(s) invalid"
        )
    if strict and bad:
        raise click.ClickException(f"{len(bad)} invalid line(s) (--strict)")


class _Progress:
    """Prints lines read and rate to stderr every two seconds while replaying a large input."""

    def __init__(self, replayer: Replayer, enabled: bool) -> None:
        self.replayer, self.enabled = replayer, enabled
        self.started = self.last = time.monotonic()

    def wrap(self, source: Iterator[bytes]) -> Iterator[bytes]:
        return _Iter(source, self) if self.enabled else source

    def tick(self, count: int) -> None:
        now = time.monotonic()
        if now - self.last >= 2.0:
            self.last = now
            rate = count / (now - self.started)
            click.echo(f"\rreplay: {count:,} lines ({rate:,.0f}/s)", err=True, nl=False)

    def done(self) -> None:
        if self.enabled:
            click.echo("", err=True)


class _Iter:
    def __init__(self, source: Iterator[bytes], progress: _Progress) -> None:
        self.source, self.progress = source, progress

    def __iter__(self) -> _Iter:
        return self

    def __next__(self) -> bytes:
        line = next(self.source)
        count = self.progress.replayer.stats.lines
        if count & 0xFFFF == 0:
            self.progress.tick(count)
        return line
