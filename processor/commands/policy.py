"""`sla-processor policy`: validate a policy file and show what it means in practice."""

from __future__ import annotations

from pathlib import Path

import click

from processor.commands.options import policy_path
from processor.domain.constants import PRIORITIES, TIERS
from processor.domain.durations import format_duration
from processor.domain.holidays import HOLIDAYS_VERSION
from processor.domain.policy import (
    BeforeDeadline,
    CalendarSpec,
    Policy,
    PolicyError,
    Tier,
    load_policy,
)
from processor.domain.policy_specs import CountryHolidays

__all__ = ["describe_policy", "policy"]

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def policy() -> None:
    """Check and show SLA policy files."""


@policy.command()
@click.argument("file", type=_FILE)
def check(file: Path) -> None:
    """Validate FILE and print its targets and thresholds; exit 1 with the problems if invalid."""
    loaded = _load_or_exit(file)
    click.echo(f"{file}: OK")
    click.echo("\n".join(describe_policy(loaded)))


@policy.command()
@click.option(
    "--policy",
    "policy_file",
    type=_FILE,
    help="Policy YAML (env SLA_POLICY_FILE, as for the worker); default: the shipped policy.",
)
def show(policy_file: Path | None) -> None:
    """Print the active policy: version, calendars, targets and threshold instants."""
    policy_file = policy_path(policy_file)
    loaded = _load_or_exit(policy_file)
    click.echo(f"source: {policy_file or 'shipped default policy'}")
    click.echo("\n".join(describe_policy(loaded)))


def _load_or_exit(path: Path | None) -> Policy:
    """The policy, its warnings printed on stderr; exit 1 with the problems if it is invalid."""
    try:
        loaded = load_policy(path)
    except PolicyError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    return loaded


def describe_policy(loaded: Policy) -> list[str]:
    """Readable lines: settings, calendars, then one row per tier and priority with its target,
    calendar and the business time at which each threshold falls due."""
    lines = [
        f"version: {loaded.version}",
        f"metric: {loaded.metric}",
        f"on_priority_change: {loaded.on_priority_change}",
        f"pending_event_retention: {format_duration(loaded.pending_event_retention, days=True)}",
        f"tombstone_retention: {format_duration(loaded.tombstone_retention, days=True)}",
        f"thresholds: {_threshold_specs(loaded)}",
        "calendars:",
    ]
    width = max(len(name) for name in loaded.calendars)
    lines += [f"  {n:<{width}}  {_calendar(c)}" for n, c in loaded.calendars.items()]
    lines.append("targets (business time from the start):")
    lines += [_row(loaded, tier, priority) for tier in TIERS for priority in PRIORITIES]
    for metric in loaded.metric_names[1:]:
        lines.append(f"{metric} targets{_metric_note(loaded, metric)}:")
        lines += [_row(loaded, t, p, metric) for t in TIERS for p in PRIORITIES]
    return lines


def _metric_note(loaded: Policy, metric: str) -> str:
    if metric == "next_reply":
        return " (each cycle, from the customer's reply)"
    pause = ", ".join(sorted(loaded.pause_on)) or "nothing"
    return f" (from the start; paused while {pause}; solved_retention " + (
        f"{format_duration(loaded.solved_retention, days=True)})"
    )


def _threshold_specs(loaded: Policy) -> str:
    near = [
        f"{format_duration(s.before)} before the deadline"
        if isinstance(s, BeforeDeadline)
        else f"{s * 100:g}%"
        for s in loaded.thresholds
    ]
    return ", ".join([*near, "breach at 100%"])


def _calendar(spec: CalendarSpec) -> str:
    if spec.type == "always":
        return "24x7"
    windows = ", ".join(f"{w.start} -> {w.end}" for w in spec.windows)
    holidays = ", ".join(day.isoformat() for day in spec.dates) or "none"
    if isinstance(spec.holidays, CountryHolidays):
        where = spec.holidays.country + (
            f"-{spec.holidays.subdivision}" if spec.holidays.subdivision else ""
        )
        holidays = f"public holidays of {where} (holidays {HOLIDAYS_VERSION}); dates: {holidays}"
    return f"weekly, ticket's local time: {windows}; holidays: {holidays}"


def _row(loaded: Policy, tier: Tier, priority: int, metric: str = "first_response") -> str:
    target = loaded.target(tier, priority, metric)
    *near, breach = loaded.thresholds_for(target)
    due = [f"near-breach {', '.join(format_duration(t.elapsed) for t in near)}"] if near else []
    due.append(f"breach {format_duration(breach.elapsed)}")
    calendar = f"{loaded.calendar_name(tier):<{max(map(len, loaded.calendars))}}"
    return f"  {tier:<6} P{priority}  {format_duration(target):>6}  {calendar}  {', '.join(due)}"
