"""Offline replay (docs/contract.md#5-offline-replay): the SLA core in event time over JSON lines.

The watermark is the largest `occurred_at` read so far: an alert for instant X is raised once an
event with `occurred_at > X` has been read (before that event is applied), or at `until`. Ties are
broken by ticket id, so the same input always gives byte-identical output.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from processor.domain.alerts import Alert
from processor.domain.events import Event, InvalidEvent, parse_event
from processor.domain.machine import Outcome, SlaMachine
from processor.domain.policy import Policy
from processor.domain.state import TicketState

__all__ = ["BadLine", "ReplayStats", "Replayer", "replay_lines"]


@dataclass(frozen=True, slots=True)
class BadLine:
    """An input line that is not a valid event."""

    line: int
    reason: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.message}"


@dataclass(slots=True)
class ReplayStats:
    lines: int = 0
    events: int = 0
    invalid: int = 0
    duplicates: int = 0
    after_until: int = 0
    dropped_early: int = 0
    alerts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        kinds = ", ".join(f"{v} {k}" for k, v in sorted(self.alerts.items())) or "none"
        return (
            f"replay: {self.lines} lines, {self.events} events, {self.invalid} invalid, "
            f"{self.duplicates} duplicates, {self.after_until} after --until, "
            f"{self.dropped_early} early events dropped; alerts: {kinds}"
        )


class Replayer:
    """Feeds events through the SLA core in event time and collects alerts in raise order."""

    def __init__(self, policy: Policy, until: datetime | None = None) -> None:
        self.machine = SlaMachine(policy)
        self.until = until
        self.stats = ReplayStats()
        self.watermark: datetime | None = None
        self._states: dict[str, TicketState] = {}
        self._scheduled: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []

    def feed(self, event: Event) -> list[Alert]:
        """Apply one event; return the alerts it and the watermark it brings raise."""
        if self.until is not None and event.occurred_at > self.until:
            self.stats.after_until += 1
            return []
        self.stats.events += 1
        alerts: list[Alert] = []
        if self.watermark is None or event.occurred_at > self.watermark:
            self.watermark = event.occurred_at
            self._advance(self.watermark, alerts, inclusive=False)
        wm = self.watermark
        state, out = self.machine.apply(self._states.get(event.ticket_id), event, wm)
        self._states[event.ticket_id] = state
        self._absorb(state, out, alerts)
        return alerts

    def finish(self) -> list[Alert]:
        """At the end of input: with `until`, raise everything due at or before it."""
        alerts: list[Alert] = []
        if self.until is not None:
            self.watermark = self.until
            self._advance(self.until, alerts, inclusive=True)
        return alerts

    def _advance(self, watermark: datetime, alerts: list[Alert], *, inclusive: bool) -> None:
        heap = self._heap
        while heap and (heap[0][0] <= watermark if inclusive else heap[0][0] < watermark):
            at, ticket_id = heapq.heappop(heap)
            if self._scheduled.get(ticket_id) != at:
                continue  # superseded by a later schedule
            del self._scheduled[ticket_id]
            state = self._states[ticket_id]
            out = self.machine.due(state, watermark, watermark, inclusive=inclusive)
            self._absorb(state, out, alerts)

    def _absorb(self, state: TicketState, out: Outcome, alerts: list[Alert]) -> None:
        stats = self.stats
        stats.duplicates += out.duplicate
        stats.dropped_early += out.dropped
        for alert in out.alerts:
            stats.alerts[alert.type] = stats.alerts.get(alert.type, 0) + 1
        alerts.extend(out.alerts)
        if out.delete:
            self._states.pop(state.ticket_id, None)
            self._scheduled.pop(state.ticket_id, None)
            return
        nxt = self.machine.next_due(state)
        if nxt is not None and self._scheduled.get(state.ticket_id) != nxt:
            self._scheduled[state.ticket_id] = nxt
            heapq.heappush(self._heap, (nxt, state.ticket_id))
        elif nxt is None:
            self._scheduled.pop(state.ticket_id, None)


def replay_lines(
    lines: Iterable[bytes], replayer: Replayer, on_bad: Callable[[BadLine], None] | None = None
) -> Iterator[Alert]:
    """Replay JSON lines; each invalid line is passed to `on_bad`; blank lines are skipped."""
    for number, raw in enumerate(lines, start=1):
        replayer.stats.lines = number
        line = raw.strip()
        if not line:
            continue
        try:
            event = parse_event(line)
        except InvalidEvent as exc:
            replayer.stats.invalid += 1
            if on_bad is not None:
                on_bad(BadLine(number, exc.reason, exc.message))
            continue
        yield from replayer.feed(event)
    yield from replayer.finish()
