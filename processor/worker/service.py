"""What the worker does with each record of its input partitions: the live driver of the runtime.

Faust-free on purpose: it talks to a mapping (the ticket table, through `TableStore`) and a
`Publisher` (Kafka sends), so it reads as the whole live algorithm:

- an event: decode (invalid -> DLQ), `TicketRuntime.on_event`, publish the alerts and wait for
  the broker's ack, then commit the new states (at-least-once: a crash can repeat an alert, never
  lose one);
- a tick (a record the worker itself appends to each partition it owns, carrying wall-clock time
  T): `TickWatermarks` turns T into the partition's watermark (clamped to the worker's clock,
  held back by the lateness of the events the partition read lately) and the runtime raises
  what is due before it, a batch of tickets per publish. A tick is read only after every record
  before it in the partition, so no alert is raised while unread input that could prevent it
  sits in the log.

No record is lost: whatever a record does that the worker cannot handle (invalid input, a
malformed tick, an exception anywhere in the core) sends it to the DLQ with a reason, is counted,
and the worker carries on with the next record.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from processor.domain.alerts import Alert
from processor.domain.events import Event, InvalidEvent, parse_event
from processor.domain.machine import Outcome, SlaMachine
from processor.domain.policy import Policy
from processor.runtime import Step, TicketRuntime, TickWatermarks
from processor.worker.metrics import Metrics, TicketCensus
from processor.worker.records import TICK_HEADER, InvalidTick, Record, tick_time
from processor.worker.table_store import Scope, TableStore, TicketTable, klass_of

__all__ = [
    "TICK_HEADER",
    "Publisher",
    "Record",
    "SlaService",
    "TicketTable",
    "klass_of",
    "tick_time",
]

log = logging.getLogger(__name__)

TICK_BATCH = 1000
"""Tickets whose alerts one tick publishes together (one wait for the broker's acks)."""
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds between attempts to publish while the broker refuses (then 5 s each)."""


class Publisher(Protocol):
    """What the service sends: alerts (acked before returning) and dead letters."""

    async def alerts(self, alerts: list[Alert]) -> None: ...

    async def dead_letter(
        self, record: Record, reason: str, message: str, extra: list[tuple[str, bytes]]
    ) -> None: ...


class _Replay(Exception):
    """A record of a batch failed in the core: the batch is handled again record by record."""


_Reject = tuple[Record, str, str, Exception | None]
"""A dead letter to send: the record, the reason, the message, the exception (if any)."""


@dataclass(slots=True)
class _Batch:
    """What a batch applied and has not settled yet (`SlaService.on_batch`)."""

    now: datetime
    step: Step = field(default_factory=Step)
    events: list[Event] = field(default_factory=list)
    unsettled: list[Record] = field(default_factory=list)
    done: set[int] = field(default_factory=set)
    """`id` of each record settled or dead-lettered: not handled again after a failure."""
    rejects: list[_Reject] = field(default_factory=list)
    """Invalid records of the batch, dead-lettered together when it settles."""
    failed: list[_Reject] = field(default_factory=list)
    """Tickets a tick could not judge: dead-lettered with the tick once the batch settled."""

    def add(self, step: Step) -> None:
        self.step.alerts.extend(step.alerts)
        self.step.outcomes.extend(step.outcomes)


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
        *,
        machine: SlaMachine | None = None,
        scope: Scope | None = None,
        watermarks: TickWatermarks | None = None,
    ) -> None:
        self.machine = machine or SlaMachine(policy)
        self.table, self.publisher, self.metrics = table, publisher, metrics
        self.clock, self.max_event_bytes = clock, max_event_bytes
        self.store = TableStore(table, census, *(() if scope is None else (scope,)))
        self.watermarks = watermarks or TickWatermarks()
        self.runtime = TicketRuntime(self.machine, self.store, self.watermarks)
        self.index = self.runtime.index

    async def on_record(self, record: Record) -> None:
        """Handle one record; never raises for the record's sake (it is dead-lettered)."""
        try:
            tick = tick_time(record)
            if tick is not None:
                await self.on_tick(record, tick)
            else:
                await self.on_event(record)
        except InvalidTick as exc:
            await self._reject(record, "bad_tick", str(exc))
        except Exception as exc:  # a bug, an overflow...: the record is kept on the DLQ
            self.runtime.discard()
            log.exception("record %s/%d@%d failed", record.topic, record.partition, record.offset)
            await self._reject(record, "internal_error", _describe(exc), exc)

    async def on_batch(self, records: Sequence[Record]) -> None:
        """Handle a batch of records (any partitions), each partition's in log order (its
        events and ticks applied in turn), then settle the whole batch once: its alerts
        published with one wait for the acks, then its states stored once per ticket and
        flushed once. A record that fails in the core: the batch's records not yet settled are
        handled again one at a time (`on_record`: the failing one to the DLQ)."""
        runs: dict[int, list[Record]] = {}
        for record in records:
            runs.setdefault(record.partition, []).append(record)
        batch = _Batch(self.clock())
        try:
            for partition, run in runs.items():
                with self.store.scope(partition):  # table reads, too, look on that partition
                    for record in run:
                        await self._apply(record, batch)
            await self._settle_batch(batch)
        except Exception:  # _Replay or a failed commit: each record not done again, alone
            rejects, batch.rejects = batch.rejects, []
            await self._reject_all(rejects)
            for partition, run in runs.items():
                with self.store.scope(partition):
                    self.runtime.discard(partition)
                    for record in run:
                        if id(record) not in batch.done:
                            await self.on_record(record)

    async def _apply(self, record: Record, batch: _Batch) -> None:
        """Apply one record of a batch to the runtime, its alerts and states kept in `batch`
        until the batch settles (a tick that reaches `TICK_BATCH` tickets settles at once)."""
        try:
            tick = tick_time(record)
        except InvalidTick as exc:
            batch.done.add(id(record))
            batch.rejects.append((record, "bad_tick", str(exc), None))
            return
        if tick is None:
            event = await self._decode(record, batch.rejects)
            if event is None:
                batch.done.add(id(record))  # dead-lettered
                return
            batch.unsettled.append(record)
            step = self.runtime.on_event(record.partition, event, batch.now, horizon=batch.now)
            if step.failures:
                raise _Replay
            batch.add(step)
            batch.events.append(event)
            return
        batch.unsettled.append(record)
        await self._apply_tick(record, tick, batch)

    async def _apply_tick(self, record: Record, tick: datetime, batch: _Batch) -> None:
        """Raise what the tick record makes due on its partition, `TICK_BATCH` tickets per
        settle; the tickets the core cannot judge are dead-lettered with the tick."""
        watermark = self.watermarks.on_tick(record.partition, tick, batch.now)
        while True:
            step = self.runtime.advance([record.partition], watermark, batch.now, limit=TICK_BATCH)
            batch.add(step)
            for ticket_id, failure in step.failures:
                log.error("ticket %r failed at a tick: %s", ticket_id, _describe(failure))
                message = f"ticket {ticket_id!r}: {_describe(failure)}"
                batch.failed.append((record, "internal_error", message, failure))
            if not step.more:
                return
            await self._settle_batch(batch)  # a mass tick: TICK_BATCH tickets per publish

    async def _settle_batch(self, batch: _Batch) -> None:
        await self._settle(batch.step)
        events, failed = batch.events, batch.failed
        batch.done.update(id(record) for record in batch.unsettled)
        batch.step, batch.events, batch.unsettled, batch.failed = Step(), [], [], []
        self._count_events(events, batch.now)
        rejects, batch.rejects = batch.rejects, []
        await self._reject_all(rejects + failed)

    async def _decode(self, record: Record, later: list[_Reject] | None = None) -> Event | None:
        """The record's event; None when it is invalid input: dead-lettered now, or added to
        `later` (a batch sends its dead letters together)."""
        try:
            event = parse_event(record.value or b"", self.max_event_bytes)
            if record.key is not None and record.key != event.ticket_id.encode():
                raise InvalidEvent("bad_key", "record key must be the event's ticket_id")
        except InvalidEvent as exc:
            if later is None:
                await self._reject(record, exc.reason, exc.message)
            else:
                later.append((record, exc.reason, exc.message, None))
            return None
        return event

    async def _reject_all(self, rejects: list[_Reject]) -> None:
        """Dead-letter these records together: one wait for all the acks."""
        if rejects:
            await asyncio.gather(*(self._reject(*reject) for reject in rejects))

    def _count_events(self, events: list[Event], now: datetime) -> None:
        """`sla_events_total` by type (one label lookup per type, not per event) and the lag
        of each event behind the wall clock."""
        for kind, count in Counter(event.type for event in events).items():
            self.metrics.events.labels(kind).inc(count)
        lag = self.metrics.event_lag
        for event in events:
            lag.observe(max((now - event.occurred_at).total_seconds(), 0.0))

    async def on_event(self, record: Record) -> None:
        event = await self._decode(record)
        if event is None:
            return
        now = self.clock()
        self._count_events([event], now)
        step = self.runtime.on_event(record.partition, event, now, horizon=now)
        await self._settle(step)
        for ticket_id, failure in step.failures[:1]:
            message = f"ticket {ticket_id!r}: {_describe(failure)}"
            await self._reject(record, "internal_error", message, failure)

    async def on_tick(self, record: Record, at: datetime) -> None:
        """One tick record, alone: a batch of one."""
        batch = _Batch(self.clock())
        await self._apply_tick(record, at, batch)
        await self._settle_batch(batch)

    def rebuild(self, rows: Iterable[tuple[str | bytes, bytes]], active: set[int]) -> int:
        """Re-derive the deadline index and census from the table; returns tickets indexed."""
        self.watermarks.forget(active)
        return self.runtime.rebuild(self.store.entries(rows, active))

    async def _settle(self, step: Step) -> None:
        await self._publish(step.alerts)  # acked before the states record them as sent
        self.runtime.commit()
        # On the changelog before the step's records are acknowledged (offsets committed).
        await _retrying(self.store.flush, "writing ticket states to the changelog")
        for out in step.outcomes:
            self._count_outcome(out)

    async def _publish(self, raised: list[Alert]) -> None:
        """Publish stamped with the wall clock; returns once the broker acked every one. A
        broker that refuses is retried (the alerts are not lost and not dead-lettered)."""
        if not raised:
            return
        stamped: list[Alert] = []

        async def send() -> None:
            now = self.clock()
            stamped[:] = [a.with_emitted_at(now) for a in raised]
            await self.publisher.alerts(stamped)

        await _retrying(send, f"publishing {len(raised)} alert(s)")
        self._count_alerts(stamped, stamped[0].emitted_at)

    async def _reject(
        self, record: Record, reason: str, message: str, exc: BaseException | None = None
    ) -> None:
        self.metrics.invalid.labels(reason).inc()
        extra = [] if exc is None else [("sla-dlq-exception", type(exc).__name__.encode())]
        await _retrying(
            lambda: self.publisher.dead_letter(record, reason, message, extra),
            f"dead-lettering {record.topic}/{record.partition}@{record.offset}",
        )

    def _count_alerts(self, alerts: list[Alert], now: datetime) -> None:
        kinds = Counter((a.type, a.tier, a.priority, a.metric) for a in alerts)
        for (kind, tier, priority, metric), count in kinds.items():  # one label lookup each
            self.metrics.alerts.labels(kind, tier, str(priority), metric).inc(count)
        delay = self.metrics.alert_delay
        for a in alerts:
            if a.type != "sla.resolved":
                delay.observe(max((now - a.due_at).total_seconds(), 0.0))

    def _count_outcome(self, out: Outcome) -> None:
        if out.duplicate:
            self.metrics.duplicates.inc()
        if out.dropped:
            self.metrics.dropped.inc(out.dropped)
        for s in out.stops:
            outcome = "met" if s.met else "breached"
            labels = (s.tier, str(s.priority))
            self.metrics.responses.labels(*labels, outcome, s.metric).inc()
            self.metrics.first_response.labels(*labels, s.metric).observe(s.business_seconds)


async def _retrying(send: Callable[[], Awaitable[None]], what: str) -> None:
    """Await `send()` until it succeeds: a broker that refuses delays, never loses, a record
    (nothing is committed meanwhile, so a crash re-reads it)."""
    for attempt in itertools.count():
        try:
            await send()
            return
        except Exception as exc:
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            log.warning("%s failed (%s); retrying in %.1f s", what, _describe(exc), delay)
            await asyncio.sleep(delay)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 1000 else text[:1000] + "..."
