"""`sla-processor simulate`: its options and their parsing; `processor.simulate.run` sends the
events, `processor.simulate.model` makes them."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from processor.domain.constants import PRIORITIES, TIERS
from processor.simulate.model import DEFAULT_PRIORITY_MIX, DEFAULT_TIER_MIX, SimConfig
from processor.simulate.run import Run, execute

__all__ = ["parse_duration", "parse_mix", "simulate"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str) -> timedelta:
    """`25m`, `90s`, `1h30m`, `500ms`, `2d`, or bare seconds (`0`, `1.5`)."""
    clean = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", clean):
        return timedelta(seconds=float(clean))
    if not clean or _PART.sub("", clean):
        raise ValueError(f"{text!r} is not a duration (e.g. 90s, 25m, 1h, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _PART.findall(clean)))


def parse_mix(text: str, keys: dict[str, Any]) -> dict[Any, float]:
    """`basic=0.5,silver=0.3` -> {"basic": 0.5, "silver": 0.3}; `keys` maps names to keys.
    Names left out weigh 0; weights are relative (they need not sum to 1)."""
    mix: dict[Any, float] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, weight = (s.strip() for s in part.partition("="))
        if not sep or name not in keys:
            raise ValueError(f"{part!r}: expected NAME=WEIGHT, NAME one of {', '.join(keys)}")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"{part!r}: weight {weight!r} is not a number") from None
        if not 0 <= value < float("inf"):
            raise ValueError(f"{part!r}: weight must be a number >= 0")
        mix[keys[name]] = value
    if not sum(mix.values()) > 0:
        raise ValueError(f"{text!r}: the weights must have a positive sum")
    return mix


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (e.g. 2026-03-02T09:00:00Z)")
    return parsed


class _Parsed(click.ParamType):
    """A click type from a parse function that raises ValueError with a readable message."""

    def __init__(self, name: str, parse: Callable[[str], Any]) -> None:
        self.name, self.parse = name, parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


TIER_KEYS: dict[str, Any] = {tier: tier for tier in TIERS}
PRIORITY_KEYS = {str(p): p for p in PRIORITIES}


def _mix_text(mix: Mapping[Any, float]) -> str:
    return ",".join(f"{name}={weight:g}" for name, weight in mix.items())


DURATION = _Parsed("DURATION", parse_duration)
TIER_MIX = _Parsed("MIX", lambda text: parse_mix(text, TIER_KEYS))
PRIORITY_MIX = _Parsed("MIX", lambda text: parse_mix(text, PRIORITY_KEYS))


_SHOW = {"show_default": True}
_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("--bootstrap-servers", {"envvar": "SLA_BOOTSTRAP_SERVERS", "default": "127.0.0.1:19092",
     "show_envvar": True, "metavar": "HOST:PORT[,...]", "help": "Kafka to produce to.", **_SHOW}),
    ("--topic", {"envvar": "SLA_EVENTS_TOPIC", "default": "helpdesk.ticket-events",
     "show_envvar": True, "help": "The worker's input topic.", **_SHOW}),
    ("--rate", {"type": click.FloatRange(min=0, min_open=True), "default": 2.0,
     "help": "New tickets per second (Poisson arrivals).", **_SHOW}),
    ("--tickets", {"type": click.IntRange(min=0), "help": "Stop after N tickets (+ follow-ups)."}),
    ("--duration", {"type": DURATION, "help": "Stop after this long, e.g. 60s, 10m."}),
    ("--backdate", {"type": DURATION, "default": "0", **_SHOW,
     "help": "Shift occurred_at into the past, e.g. 25m, so alerts come sooner."}),
    ("--seed", {"type": int, "help": "Random seed (default: a random one, printed)."}),
    ("--start", {"type": _Parsed("TIMESTAMP", _instant),
     "help": "Start instant of the simulated clock (default: now)."}),
    ("--out", {"type": click.Path(dir_okay=False, writable=True, path_type=Path),
     "help": "Also write each produced value as a JSON line (replayable)."}),
    ("--no-kafka", {"is_flag": True, "help": "Do not produce; write to --out or stdout."}),
    ("--mix", {"type": TIER_MIX, "default": _mix_text(DEFAULT_TIER_MIX),
     "help": "Tier weights.", **_SHOW}),
    ("--priorities", {"type": PRIORITY_MIX, "default": _mix_text(DEFAULT_PRIORITY_MIX),
     "help": "Priority weights.", **_SHOW}),
    ("--fast", {"is_flag": True, "help": "No real-time pacing (tests, loading)."}),
    ("--quiet -q", {"is_flag": True, "help": "No progress or summary on stderr."}),
]  # fmt: skip


def _with_options(command: Callable[..., None]) -> Callable[..., None]:
    for names, settings in reversed(_OPTIONS):
        command = click.option(*names.split(), **settings)(command)
    return command


@click.command("simulate")
@_with_options
def simulate(**options: Any) -> None:
    """Produce realistic helpdesk ticket events (docs/contract.md#2-input-events) for the worker.

    Tickets arrive at --rate; most get a public response before their SLA target, ~12% late,
    ~5% are closed unanswered; priorities change now and then; ~1% of events are sent twice and
    ~0.5% are followed by a malformed one (for the DLQ). Runs until --tickets, --duration
    (whichever comes first) or Ctrl-C. The --out file replays to the same alerts as the live
    worker: `sla-processor replay FILE`.
    """
    run = _plan(options)
    try:
        asyncio.run(execute(run))
    except (KeyboardInterrupt, asyncio.CancelledError):  # a second Ctrl-C
        raise click.ClickException(
            "aborted: events not yet confirmed by Kafka may be lost"
        ) from None


def _plan(o: dict[str, Any]) -> Run:
    if o["fast"] and o["tickets"] is None and o["duration"] is None:
        raise click.UsageError("--fast needs --tickets or --duration (it would never stop)")
    seed = o["seed"] if o["seed"] is not None else secrets.randbits(32)
    try:
        config = SimConfig(
            seed=seed,
            start=o["start"] or datetime.now(UTC),
            rate=o["rate"],
            tiers=o["mix"],
            priorities=o["priorities"],
            backdate=o["backdate"],
            tickets=o["tickets"],
            duration=o["duration"],
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    bootstrap = None if o["no_kafka"] else o["bootstrap_servers"]
    return Run(config, o["topic"], bootstrap, o["out"], o["fast"], o["quiet"])
