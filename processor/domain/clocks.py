"""The clocks of the metrics besides first response (docs/contract.md#8-more-sla-metrics).

A `Clock` is one running (or paused) SLA clock: a next-reply cycle, or a ticket's resolution
clock. Its business time is `spent` (counted up to `since`) plus, while it runs, the open time
from `since` on; while paused it is `spent`. Thresholds are placed from there:

- a threshold at `e` business time after the origin is due at `add(since, e - spent)` when
  `e > spent`, else at `since` (it was reached before the clock last resumed: due at once);
- the deadline likewise, with the target for `e`.

A next-reply cycle never pauses (`spent` stays 0, `since` is its origin), so its instants are
those of first response: `add(origin, e)`.

`Lifecycle` is what a ticket adds to its row when the policy enables these metrics: its status,
its last public agent response, the two clocks, and when it was solved or became final. A row
without it (every row of a first-response-only policy, and every row of an older release)
behaves as before.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from processor.domain.calendar import BusinessCalendar
from processor.domain.thresholds import Threshold

__all__ = ["Clock", "Lifecycle", "place", "spent_at"]

_US = timedelta(microseconds=1)


@dataclass(slots=True)
class Clock:
    start: datetime
    """The cycle's start (next reply) or the creation (resolution)."""
    origin: datetime
    """Where the current target counts from: `start`, or a priority change (`from_change`)."""
    target_seconds: int
    since: datetime
    """Running: when it last resumed (or started). Paused: when it paused."""
    running: bool = True
    spent_us: int = 0
    """Business time counted before `since`, in microseconds."""
    deadline: datetime | None = None
    """The deadline as last placed (kept while paused, for alerts and the ticket view)."""
    thresholds: list[tuple[float, datetime]] = field(default_factory=list)
    """Due instants while running (empty while paused)."""
    sent: list[tuple[str, float]] = field(default_factory=list)
    """Alerts raised for this cycle, as (key of the target or deadline, threshold)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "start": self.start.isoformat(),
            "origin": self.origin.isoformat(),
            "target": self.target_seconds,
            "since": self.since.isoformat(),
            "running": self.running,
            "spent_us": self.spent_us,
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "thresholds": [[f, d.isoformat()] for f, d in self.thresholds],
            "sent": [[k, t] for k, t in self.sent],
        }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clock:
        deadline = data["deadline"]
        return cls(
            start=datetime.fromisoformat(data["start"]),
            origin=datetime.fromisoformat(data["origin"]),
            target_seconds=data["target"],
            since=datetime.fromisoformat(data["since"]),
            running=data["running"],
            spent_us=data["spent_us"],
            deadline=None if deadline is None else datetime.fromisoformat(deadline),
            thresholds=[(float(f), datetime.fromisoformat(d)) for f, d in data["thresholds"]],
            sent=[(str(k), float(t)) for k, t in data["sent"]],
        )


@dataclass(slots=True)
class Lifecycle:
    status: str = "new"
    last_agent_at: datetime | None = None
    """The latest public agent response (a customer reply stamped before it starts nothing)."""
    next_reply: Clock | None = None
    resolution: Clock | None = None
    solved_at: datetime | None = None
    """When the ticket was solved (None unless its status is solved)."""
    final_at: datetime | None = None
    """When every metric became final (the row is a tombstone from then on)."""

    def shrink(self) -> None:
        self.last_agent_at, self.next_reply, self.resolution = None, None, None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "last_agent_at": _out(self.last_agent_at),
            "next_reply": None if self.next_reply is None else self.next_reply.to_dict(),
            "resolution": None if self.resolution is None else self.resolution.to_dict(),
            "solved_at": _out(self.solved_at),
            "final_at": _out(self.final_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lifecycle:
        nr, res = data["next_reply"], data["resolution"]
        return cls(
            status=sys.intern(data["status"]),
            last_agent_at=_in(data["last_agent_at"]),
            next_reply=None if nr is None else Clock.from_dict(nr),
            resolution=None if res is None else Clock.from_dict(res),
            solved_at=_in(data["solved_at"]),
            final_at=_in(data["final_at"]),
        )


def spent_at(clock: Clock, calendar: BusinessCalendar, at: datetime) -> timedelta:
    """Business time on the clock at `at` (paused: what it had when it paused)."""
    spent = clock.spent_us * _US
    if clock.running and at > clock.since:
        spent += calendar.between(clock.since, at)
    return spent


def place(
    clock: Clock, calendar: BusinessCalendar, target: timedelta, thresholds: list[Threshold]
) -> None:
    """Set the clock's target, deadline and (if it runs) its due instants."""
    clock.target_seconds = int(target.total_seconds())
    spent = clock.spent_us * _US
    since = clock.since
    if not clock.running:
        clock.deadline = _instant(calendar, since, target, spent)
        clock.thresholds = []
        return
    # One calendar walk for the deadline and every threshold (a threshold reached before the
    # clock last resumed is due at `since`).
    amounts = [*(t.elapsed for t in thresholds), target]  # ascending: one walk of the weeks
    ahead = [amount - spent for amount in amounts if amount > spent]
    placed = iter(calendar.add_each(since, ahead))
    instants = [next(placed) if amount > spent else since for amount in amounts]
    clock.deadline = instants[-1]
    clock.thresholds = [(t.fraction, at) for t, at in zip(thresholds, instants, strict=False)]


def _instant(
    calendar: BusinessCalendar, since: datetime, elapsed: timedelta, spent: timedelta
) -> datetime:
    return calendar.add(since, elapsed - spent) if elapsed > spent else since


def _out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _in(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
