"""Offline replay (docs/contract.md#5-offline-replay): the SLA core run in event time over JSON
lines, through the same `TicketRuntime` as the live worker.

The watermark is `EventTimeWatermarks`: per partition (a line's `partition` field; lines without
one form one stream), the newest `occurred_at` read, held back by `lateness`, with a guard
against lone far-future lines. An alert for instant X is raised once the watermark judging its
ticket is past X (before the event that moved it is applied); a ticket read behind the watermark
gets what it is due at the next move of the watermark (its own events read before that still
count). At the end of the input the watermark is the largest `occurred_at`
not set aside, or `until` (inclusive). Ties are broken by ticket id, so the same input always
gives byte-identical output; `emitted_at` is the watermark at which an alert was raised.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from processor.domain.alerts import Alert, format_instant
from processor.domain.events import Event, InvalidEvent, parse_event
from processor.domain.machine import SlaMachine
from processor.domain.policy import Policy
from processor.runtime import EventTimeWatermarks, MemoryStore, Step, TicketRuntime
from processor.runtime.watermarks import NO_PARTITION

__all__ = ["BadLine", "ReplayStats", "Replayer", "parse_line", "replay_lines"]

MAX_PARTITION = 1_000_000
REPLAY_GC_THRESHOLD = (50_000, 20, 100)
"""The collector's thresholds while `replay_lines` runs (at least these; restored after)."""
_PARTITION = re.compile(rb'"partition"\s*:')


@dataclass(frozen=True, slots=True)
class BadLine:
    """An input line that is not a valid event, or one that was set aside or failed."""

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
    outliers: int = 0
    internal_errors: int = 0
    alerts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        kinds = ", ".join(f"{v} {k}" for k, v in sorted(self.alerts.items())) or "none"
        return (
            f"replay: {self.lines} lines, {self.events} events, {self.invalid} invalid, "
            f"{self.duplicates} duplicates, {self.after_until} after --until, "
            f"{self.dropped_early} early events dropped, {self.outliers} outliers set aside, "
            f"{self.internal_errors} internal errors; alerts: {kinds}"
        )


class Replayer:
    """Feeds events through the runtime in event time and collects alerts in raise order."""

    def __init__(
        self,
        policy: Policy,
        until: datetime | None = None,
        *,
        lateness: timedelta = timedelta(0),
        max_skew: timedelta = timedelta(days=1),
        partitions: int | None = None,
        on_bad: Callable[[BadLine], None] | None = None,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        self.machine = SlaMachine(policy)
        self.store = MemoryStore()
        self.watermarks = EventTimeWatermarks(
            lateness=lateness, max_skew=max_skew, partitions=partitions
        )
        self.runtime = TicketRuntime(self.machine, self.store, self.watermarks)
        self.until = None if until is None else until.astimezone(UTC)
        self.stats = ReplayStats()
        self.on_bad = on_bad
        self.on_step = on_step
        """Called with every committed `Step` (its alerts, stops and outcomes), e.g. by `report`."""

    def feed(self, event: Event, partition: int = NO_PARTITION, line: int = 0) -> list[Alert]:
        """Apply one event (read on `partition`, from input `line`); return what it raises."""
        if self.until is not None and event.occurred_at > self.until:
            self.stats.after_until += 1
            return []
        self.stats.events += 1
        return self._absorb(self.runtime.on_event(partition, event, token=line), line)

    def finish(self) -> list[Alert]:
        """At the end of input: raise what the final watermark (or `until`) makes due."""
        return self._absorb(self.runtime.finish(self.until), 0)

    def _absorb(self, step: Step, line: int) -> list[Alert]:
        self.runtime.commit()
        if self.on_step is not None:
            self.on_step(step)
        stats = self.stats
        for out in step.outcomes:
            stats.duplicates += out.duplicate
            stats.dropped_early += out.dropped
        for alert in step.alerts:
            stats.alerts[alert.type] = stats.alerts.get(alert.type, 0) + 1
        for late in step.set_aside:
            stats.outliers += 1
            self.report(
                BadLine(
                    late.token,
                    "outlier",
                    f"occurred_at {format_instant(late.at)} is more than "
                    f"{self.watermarks.max_skew} ahead of the rest and no later event confirms "
                    "it; applied to its own ticket, the watermark ignores it",
                )
            )
        for ticket_id, exc in step.failures:
            stats.internal_errors += 1
            self.report(BadLine(line, "internal_error", f"ticket {ticket_id!r}: {_describe(exc)}"))
        return step.alerts

    def report(self, bad: BadLine) -> None:
        """Pass a bad, set-aside or failed line to `on_bad`."""
        if self.on_bad is not None:
            self.on_bad(bad)


def parse_line(line: bytes) -> tuple[Event, int]:
    """One JSON line: the event and the `partition` it carries (NO_PARTITION if none)."""
    event = parse_event(line)
    if _PARTITION.search(line) is None:
        return event, NO_PARTITION
    data = json.loads(line)
    if "partition" not in data:  # the name was inside a nested object or a string
        return event, NO_PARTITION
    value = data["partition"]
    if type(value) is not int or not 0 <= value < MAX_PARTITION:
        raise InvalidEvent("invalid_field", "partition: must be a whole number >= 0")
    return event, value


def replay_lines(
    lines: Iterable[bytes], replayer: Replayer, on_bad: Callable[[BadLine], None] | None = None
) -> Iterator[Alert]:
    """Replay JSON lines; each invalid line is passed to `on_bad`; blank lines are skipped."""
    if on_bad is not None and replayer.on_bad is None:
        replayer.on_bad = on_bad
    stats, feed = replayer.stats, replayer.feed
    with fewer_collections():
        for number, raw in enumerate(lines, start=1):
            stats.lines = number
            line = raw.strip()
            if not line:
                continue
            try:
                event, partition = parse_line(line)
            except InvalidEvent as exc:
                stats.invalid += 1
                replayer.report(BadLine(number, exc.reason, exc.message))
                continue
            yield from feed(event, partition, number)
        yield from replayer.finish()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often (`REPLAY_GC_THRESHOLD`) inside the block.

    A replay keeps every open ticket's state alive and allocates a few short-lived objects per
    event, so with the default thresholds the collector walks the same live states over and
    over: about a sixth of the time of a 1M-event replay. The collector still runs, less
    often: states are freed by reference counting as before, only garbage in reference cycles
    waits a little longer."""
    old = gc.get_threshold()
    if old[0] == 0:  # the collector's automatic runs are off: leave them off
        yield
        return
    gc.set_threshold(*(max(o, n) for o, n in zip(old, REPLAY_GC_THRESHOLD, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:300] + "..."
