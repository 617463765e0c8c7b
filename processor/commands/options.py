"""Options and settings shared by the commands: the Kafka ones, and the event-time ones of the
commands that replay a log (`replay`, `report`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from processor.domain.durations import parse_duration
from processor.domain.instants import parse_instant
from processor.settings import Settings

S = TypeVar("S", bound=Settings)

__all__ = [
    "DurationParam",
    "Instant",
    "policy_path",
    "replay_options",
    "settings_from",
    "settings_of",
    "worker_options",
]


def worker_options(fun: Any) -> Any:
    """Flags shared by the commands that connect to Kafka (each overrides its `SLA_` variable)."""
    options = [
        click.option(
            "--bootstrap-servers", help="Kafka bootstrap servers [SLA_BOOTSTRAP_SERVERS]."
        ),
        click.option("--app-id", help="Consumer group id [SLA_APP_ID]."),
        click.option("--partitions", type=int, help="Input topic partitions [SLA_PARTITIONS]."),
    ]
    for option in reversed(options):
        fun = option(fun)
    return fun


def replay_options(fun: Any) -> Any:
    """The options of a command that replays a log in event time (`replay`, `report`): the
    policy, `--until` and the watermark's `--partitions`, `--lateness` and `--max-skew`."""
    options = [
        click.option(
            "--policy",
            "policy_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Policy YAML [SLA_POLICY_FILE] (default: the shipped Okta Premier Success "
            "matrix).",
        ),
        click.option("--until", type=Instant(), help="Raise everything due up to this instant."),
        click.option(
            "--partitions",
            type=click.IntRange(1, 100_000),
            help="Wait for this many partitions (lines' `partition` field): every ticket is "
            "then judged by the slowest one. Without it each partition's tickets follow that "
            "partition.",
        ),
        click.option(
            "--lateness",
            type=DurationParam(),
            default="0s",
            show_default=True,
            help="Hold the watermark this far behind the newest event time (e.g. 5m).",
        ),
        click.option(
            "--max-skew",
            type=DurationParam(),
            default="1d",
            show_default=True,
            help="A lone event further ahead than this does not move the watermark (an outlier).",
        ),
    ]
    for option in reversed(options):
        fun = option(fun)
    return fun


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, then the flags given; exits with a readable error."""
    return settings_of(Settings, **overrides)


def settings_of(kind: type[S], /, **overrides: Any) -> S:
    """Settings of class `kind` from the environment, then the flags given (None: not given);
    exits with a readable error."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return kind(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise click.ClickException(f"invalid settings: {problems}") from None


def policy_path(given: Path | None) -> Path | None:
    """The policy file of a command: its --policy flag, else `SLA_POLICY_FILE` read through the
    settings as the worker reads it, else None (the shipped default policy)."""
    return given if given is not None else settings_from().policy_file


class Instant(click.ParamType):
    """An RFC 3339 date-time with seconds and an offset, e.g. 2026-03-02T09:00:00Z (as UTC)."""

    name = "TIMESTAMP"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value))
        except ValueError as exc:
            self.fail(str(exc))


class DurationParam(click.ParamType):
    """A duration as policies write them: 30s, 5m, 2h, 1d."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc))
