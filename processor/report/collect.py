"""Replay a log under one or more policies and keep what a report needs (`Ledger`).

The replay is `processor.replay`'s: `replay_lines` over a `Replayer`, whose `on_step` hook hands
each committed `Step` here. With several policies the lines are read and parsed once and each
event is fed to one replayer per policy (`_Shadowed`), so both see the same input.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from processor.domain.alerts import Alert
from processor.domain.events import Event
from processor.domain.machine import StopRecord
from processor.domain.policy import Policy
from processor.replay import BadLine, Replayer, ReplayStats, replay_lines
from processor.runtime import Step
from processor.runtime.watermarks import NO_PARTITION

__all__ = ["PAGE_KINDS", "Ledger", "Running", "collect"]

_GC_THRESHOLDS = (100_000, 50, 1000)
"""Generation thresholds while replaying (CPython's default is 700, 10, 10)."""

PAGE_KINDS = ("sla.near_breach", "sla.breached")
"""The alerts that page someone (`sla.resolved` closes a page)."""


@dataclass(frozen=True, slots=True)
class Running:
    """A clock still running at the end of the log, under the ticket's current tier/priority."""

    metric: str
    ticket_id: str
    tier: str
    priority: int


@dataclass(slots=True)
class Ledger:
    """What one replay gave: every stop and page in order, the running clocks at the end, and
    each ticket's creation instant (to select tickets by creation time)."""

    policy_version: str
    stops: list[StopRecord] = field(default_factory=list)
    pages: list[Alert] = field(default_factory=list)
    running: list[Running] = field(default_factory=list)
    created: dict[str, datetime] = field(default_factory=dict)
    stats: ReplayStats = field(default_factory=ReplayStats)


class _Collector:
    def __init__(self, replayer: Replayer) -> None:
        self.replayer = replayer
        self.ledger = Ledger(replayer.machine.policy.version)
        self.states = replayer.store.states
        replayer.on_step = self.on_step

    def on_step(self, step: Step) -> None:
        ledger = self.ledger
        for alert in step.alerts:
            if alert.type != "sla.resolved":
                ledger.pages.append(alert)
        for out in step.outcomes:
            if out.stops:
                for stop in out.stops:
                    ledger.stops.append(stop)
                    state = self.states.get(stop.ticket_id)
                    if state is not None and state.created_at is not None:
                        ledger.created[stop.ticket_id] = state.created_at

    def finish(self) -> Ledger:
        ledger, running = self.ledger, self.replayer.machine.running
        for state in self.replayer.store:
            for metric in running(state):
                ledger.running.append(Running(metric, state.ticket_id, state.tier, state.priority))
                if state.created_at is not None:
                    ledger.created[state.ticket_id] = state.created_at
        ledger.stats = self.replayer.stats
        return ledger


class _Shadowed(Replayer):
    """A replayer that feeds every event it is given to other replayers too."""

    shadows: list[Replayer]

    def feed(self, event: Event, partition: int = NO_PARTITION, line: int = 0) -> list[Alert]:
        for shadow in self.shadows:
            shadow.feed(event, partition, line)
        return super().feed(event, partition, line)

    def finish(self) -> list[Alert]:
        for shadow in self.shadows:
            shadow.finish()
        return super().finish()


def collect(
    lines: Iterable[bytes],
    policies: list[Policy],
    *,
    until: datetime | None = None,
    lateness: timedelta = timedelta(0),
    max_skew: timedelta = timedelta(days=1),
    partitions: int | None = None,
    on_bad: Callable[[BadLine], None] | None = None,
) -> list[Ledger]:
    """Replay `lines` once per policy (bad lines go to `on_bad` once); one `Ledger` each.

    The ledgers keep every stop and page until the end, so the cyclic garbage collector would
    rescan a growing heap ever more often (a fifth of the CPU time at 200k events); while
    replaying, its thresholds are raised (`_GC_THRESHOLDS`) and restored afterwards."""

    first = _Shadowed(
        policies[0],
        until,
        lateness=lateness,
        max_skew=max_skew,
        partitions=partitions,
        on_bad=on_bad,
    )
    first.shadows = [
        Replayer(p, until, lateness=lateness, max_skew=max_skew, partitions=partitions)
        for p in policies[1:]
    ]
    collectors = [_Collector(r) for r in (first, *first.shadows)]
    thresholds = gc.get_threshold()
    gc.set_threshold(*_GC_THRESHOLDS)
    try:
        for _ in replay_lines(lines, first):
            pass
    finally:
        gc.set_threshold(*thresholds)
    for shadow in first.shadows:  # the lines are counted by the replayer that reads them
        shadow.stats.lines, shadow.stats.invalid = first.stats.lines, first.stats.invalid
    return [c.finish() for c in collectors]
