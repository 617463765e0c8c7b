"""What the worker does with each record of its input partitions: the glue around the core.

Faust-free on purpose: it talks to a mapping (the ticket table) and a `Publisher` (Kafka sends),
so it reads as the whole live algorithm:

- an event: decode (invalid -> DLQ), load the ticket, `SlaMachine.apply`, publish the alerts and
  wait for the broker's ack, then store the new state (at-least-once: a crash can repeat an alert,
  never lose one);
- a tick (a record the worker itself appends to each partition it owns, carrying wall-clock time
  T): every ticket of that partition with an instant before T is handed to `SlaMachine.due`. A tick
  is read only after every record before it in the partition, so no alert is raised while unread
  input that could prevent it sits in the log.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from processor.domain.alerts import Alert
from processor.domain.events import InvalidEvent, parse_event
from processor.domain.machine import Outcome, SlaMachine
from processor.domain.policy import Policy
from processor.domain.state import TicketState
from processor.worker.index import DeadlineIndex
from processor.worker.metrics import Metrics, TicketCensus
from processor.worker.rows import decode_head, decode_state, encode_row

__all__ = ["TICK_HEADER", "Publisher", "Record", "SlaService", "klass_of"]

TICK_HEADER = "sla-tick"
TICK_BATCH = 1000
"""Tickets whose alerts one tick publishes together (one wait for the broker's acks)."""


@dataclass(frozen=True, slots=True)
class Record:
    """The parts of a consumed Kafka record the service needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class TicketTable(Protocol):
    """The ticket table as the service uses it: `ticket_id -> encoded row`."""

    def get(self, key: str, default: bytes | None = None, /) -> bytes | None: ...

    def __setitem__(self, key: str, value: bytes, /) -> None: ...

    def pop(self, key: str, default: bytes | None = None, /) -> bytes | None: ...


class Publisher(Protocol):
    async def alerts(self, alerts: list[Alert]) -> None:
        """Publish and wait until the broker acknowledged every one."""

    async def dead_letter(self, record: Record, reason: str, message: str) -> None:
        """Send the original record to the DLQ with the reason in headers."""


def klass_of(state: TicketState) -> str | None:
    """`tier:priority:risk` of an open ticket (risk: ok, at_risk, breached); None otherwise."""
    if state.phase != "open":
        return None
    sent = state.sent_for_current_deadline()
    risk = "breached" if 1.0 in sent else "at_risk" if sent else "ok"
    # Interned: the census keeps one per open ticket, and there are only 36 distinct values.
    return sys.intern(f"{state.tier}:{state.priority}:{risk}")


class SlaService:
    def __init__(
        self,
        policy: Policy,
        table: TicketTable,
        publisher: Publisher,
        metrics: Metrics,
        census: TicketCensus,
        clock: Callable[[], datetime],
        max_event_bytes: int,
    ) -> None:
        self.machine = SlaMachine(policy)
        self.table, self.publisher, self.metrics = table, publisher, metrics
        self.census, self.clock, self.max_event_bytes = census, clock, max_event_bytes
        self.index = DeadlineIndex()
        self.backfill_quiet = timedelta(seconds=2)
        self._flow: dict[int, tuple[datetime, datetime]] = {}
        """partition -> (newest occurred_at read, wall-clock time of the last event read)"""

    async def on_record(self, record: Record) -> None:
        tick = _tick_time(record)
        if tick is not None:
            await self.on_tick(record.partition, tick)
        else:
            await self.on_event(record)

    async def on_event(self, record: Record) -> None:
        try:
            event = parse_event(record.value or b"", self.max_event_bytes)
            if record.key is not None and record.key != event.ticket_id.encode():
                raise InvalidEvent("bad_key", "record key must be the event's ticket_id")
        except InvalidEvent as exc:
            self.metrics.invalid.labels(exc.reason).inc()
            await self.publisher.dead_letter(record, exc.reason, exc.message)
            return
        now = self.clock()
        self._note_flow(record.partition, event.occurred_at, now)
        self.metrics.events.labels(event.type).inc()
        self.metrics.event_lag.observe(max((now - event.occurred_at).total_seconds(), 0.0))
        state, out = self.machine.apply(self._load(event.ticket_id), event, now, horizon=now)
        await self._settle(record.partition, state, out)

    def _note_flow(self, partition: int, occurred_at: datetime, now: datetime) -> None:
        newest = self._flow.get(partition, (occurred_at, now))[0]
        self._flow[partition] = (max(newest, occurred_at), now)

    def watermark(self, partition: int, tick: datetime) -> datetime:
        """How far a tick may raise alerts on `partition`: its wall-clock time, except while
        events are still flowing in that are older than it (a backlog or a backfill): then
        the newest event time read, as `replay` would, so that a response further down the
        log is read before the breach it prevents."""
        flow = self._flow.get(partition)
        if flow is None or self.clock() - flow[1] >= self.backfill_quiet:
            return tick
        return min(tick, flow[0])

    async def on_tick(self, partition: int, at: datetime) -> None:
        at = self.watermark(partition, at)
        due = self.index.pop_due(partition, at)
        for start in range(0, len(due), TICK_BATCH):
            await self._tick_batch(partition, at, due[start : start + TICK_BATCH])

    async def _tick_batch(self, partition: int, at: datetime, ticket_ids: list[str]) -> None:
        """Raise what is due for these tickets: one publish (one wait for acks) for all."""
        now = self.clock()
        settled: list[tuple[TicketState, Outcome]] = []
        for ticket_id in ticket_ids:
            state = self._load(ticket_id)
            if state is not None:
                settled.append((state, self.machine.due(state, at, now)))
        await self._publish([a for _, out in settled for a in out.alerts])
        for state, out in settled:
            self._store(partition, state, out)

    def rebuild(self, rows: Iterable[tuple[str | bytes, bytes]], active: set[int]) -> int:
        """Re-derive the deadline index and census from the table; returns tickets indexed."""
        self.index.clear()
        self.census.clear()
        count = 0
        for key, row in rows:
            partition, due, klass = decode_head(row)
            if partition not in active:
                continue
            ticket_id = key.decode() if isinstance(key, bytes) else key
            self.index.schedule(partition, ticket_id, due)
            self.census.set(partition, ticket_id, klass)
            count += 1
        return count

    def _load(self, ticket_id: str) -> TicketState | None:
        row = self.table.get(ticket_id)
        return None if row is None else decode_state(row)

    async def _settle(self, partition: int, state: TicketState, out: Outcome) -> None:
        await self._publish(out.alerts)
        self._store(partition, state, out)

    async def _publish(self, raised: list[Alert]) -> None:
        """Publish stamped with the wall clock; returns once the broker acked every one."""
        if raised:
            now = self.clock()
            alerts = [a.with_emitted_at(now) for a in raised]
            await self.publisher.alerts(alerts)  # acked before the state records them as sent
            self._count_alerts(alerts, now)

    def _store(self, partition: int, state: TicketState, out: Outcome) -> None:
        self._count_outcome(out)
        if out.duplicate:
            return
        if out.delete:
            self.table.pop(state.ticket_id, None)
            self.index.schedule(partition, state.ticket_id, None)
            self.census.set(partition, state.ticket_id, None)
            return
        nxt = self.machine.next_due(state)
        klass = klass_of(state)
        self.table[state.ticket_id] = encode_row(partition, nxt, klass, state)
        self.index.schedule(partition, state.ticket_id, nxt)
        self.census.set(partition, state.ticket_id, klass)

    def _count_alerts(self, alerts: list[Alert], now: datetime) -> None:
        for a in alerts:
            self.metrics.alerts.labels(a.type, a.tier, str(a.priority)).inc()
            if a.type != "sla.resolved":
                self.metrics.alert_delay.observe(max((now - a.due_at).total_seconds(), 0.0))

    def _count_outcome(self, out: Outcome) -> None:
        if out.duplicate:
            self.metrics.duplicates.inc()
        if out.dropped:
            self.metrics.dropped.inc(out.dropped)
        if out.stop is not None:
            s = out.stop
            outcome = "met" if s.met else "breached"
            self.metrics.responses.labels(s.tier, str(s.priority), outcome).inc()
            self.metrics.first_response.labels(s.tier, str(s.priority)).observe(s.business_seconds)


def _tick_time(record: Record) -> datetime | None:
    for name, value in record.headers:
        if name == TICK_HEADER:
            return datetime.fromisoformat(value.decode()).astimezone(UTC)
    return None
