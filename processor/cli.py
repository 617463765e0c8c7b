"""The `sla-processor` command line. Each command builds its settings here and passes them down."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import BinaryIO

import click

from processor import __version__
from processor.domain.policy import Policy, PolicyError, load_policy
from processor.replay import BadLine, Replayer, replay_lines

__all__ = ["cli", "main"]


class _Instant(click.ParamType):
    """An RFC 3339 timestamp with an offset, e.g. 2026-03-02T09:00:00Z."""

    name = "TIMESTAMP"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 timestamp (e.g. 2026-03-02T09:00:00Z)")
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset; add one, e.g. Z or +01:00")
        return parsed


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sla-processor")
def cli() -> None:
    """Watch support tickets against their SLA; raise near-breach, breach and resolved alerts."""


@cli.command()
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Policy YAML (default: the shipped Okta Premier Success matrix).",
)
@click.option("--until", type=_Instant(), help="Raise everything due up to this instant.")
@click.option("--strict", is_flag=True, help="Exit non-zero if any input line is invalid.")
@click.option("--quiet", "-q", is_flag=True, help="No summary or progress on stderr.")
@click.argument("source", type=click.File("rb"), default="-")
def replay(
    policy_file: str | None, until: datetime | None, strict: bool, quiet: bool, source: BinaryIO
) -> None:
    """Run the SLA core over events (JSON lines, FILE or - for stdin); print alerts as JSON lines.

    Event time drives the clock: an alert for instant X is raised once an event with a later
    occurred_at has been read, or at --until. Invalid lines are reported on stderr with their
    line number and reason; the rest is processed. The same input always gives the same output.
    """
    policy = _load_policy_or_exit(policy_file)
    replayer = Replayer(policy, until=until)
    bad: list[BadLine] = []

    def report(line: BadLine) -> None:
        bad.append(line)
        click.echo(f"replay: {line}", err=True)

    out = sys.stdout
    progress = _Progress(replayer, enabled=not quiet and sys.stderr.isatty())
    for alert in replay_lines(progress.wrap(source), replayer, report):
        out.write(alert.to_json())
        out.write("\n")
    out.flush()
    progress.done()
    if not quiet:
        click.echo(replayer.stats.summary(), err=True)
    if strict and bad:
        raise click.ClickException(f"{len(bad)} invalid line(s) (--strict)")


class _Progress:
    """Prints lines read and rate to stderr every two seconds while replaying a large input."""

    def __init__(self, replayer: Replayer, enabled: bool) -> None:
        self.replayer, self.enabled = replayer, enabled
        self.started = self.last = time.monotonic()

    def wrap(self, source: BinaryIO) -> BinaryIO | _Iter:
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
    def __init__(self, source: BinaryIO, progress: _Progress) -> None:
        self.source, self.progress = source, progress

    def __iter__(self) -> _Iter:
        return self

    def __next__(self) -> bytes:
        line = next(self.source)
        count = self.progress.replayer.stats.lines
        if count & 0xFFFF == 0:
            self.progress.tick(count)
        return line


def _load_policy_or_exit(path: str | None) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


def _register() -> None:
    from processor.demo import demo
    from processor.ops_cli import alerts, topics, worker
    from processor.paging.command import page
    from processor.policy_cli import policy
    from processor.simulate import simulate

    for command in (worker, topics, alerts, policy, simulate, demo, page):
        cli.add_command(command)


def main() -> None:
    _register()
    cli()
