"""`SlaService.on_batch`: a batch of records handled together, with the per-record guarantees.

One publish (one wait for the acks) and one flush per batch, events and ticks of every
partition together, states stored after the acks; each partition's records in log order, ticks
included; a record that fails goes to the DLQ alone and the rest of its batch is stored; every
table read and write made in the scope of its partition.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faulty_worker import FaultyMachine
from prometheus_client import CollectorRegistry

from processor.domain.alerts import Alert
from processor.domain.policy import default_policy
from processor.worker.metrics import Metrics, TicketCensus
from processor.worker.rows import decode_state
from processor.worker.service import TICK_HEADER, Record, SlaService

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Recorder:
    """Each publish call, with how many alerts the stored states recorded as sent by then."""

    def __init__(self, table: dict[str, bytes]) -> None:
        self.table = table
        self.calls: list[list[Alert]] = []
        self.sent_stored_at_call: list[int] = []
        self.dead: list[tuple[Record, str]] = []

    async def alerts(self, alerts: list[Alert]) -> None:
        self.calls.append(alerts)
        stored = [decode_state(row) for row in self.table.values()]
        self.sent_stored_at_call.append(sum(len(s.sent) for s in stored))

    async def dead_letter(
        self, record: Record, reason: str, message: str, extra: object = ()
    ) -> None:
        self.dead.append((record, reason))


class Clock:
    now = T0

    def __call__(self) -> datetime:
        return self.now


class ScopedTable(dict[str, bytes]):
    """A dict table that records, per write, the partition whose scope it was made in."""

    def __init__(self) -> None:
        super().__init__()
        self.current: int | None = None
        self.writes: list[tuple[int | None, int]] = []  # (scope, the row's own partition)
        self.reads: list[int | None] = []

    @contextmanager
    def scope(self, partition: int) -> Any:
        self.current = partition
        try:
            yield
        finally:
            self.current = None

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes.append((self.current, int(value.split(b" ", 1)[0])))
        super().__setitem__(key, value)

    def get(self, key: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        self.reads.append(self.current)
        return super().get(key, default)


def build(machine: bool = False) -> tuple[SlaService, Recorder, Clock, ScopedTable]:
    table, registry, census, clock = ScopedTable(), CollectorRegistry(), TicketCensus(), Clock()
    clock.now = T0
    recorder = Recorder(table)
    policy = default_policy()
    service = SlaService(
        policy,
        table,
        recorder,
        Metrics(registry, census),
        census,
        clock,
        64 * 1024,
        machine=FaultyMachine(policy) if machine else None,
        scope=table.scope,
    )
    return service, recorder, clock, table


def event(tid: str, kind: str, at: datetime, partition: int = 0, offset: int = 0) -> Record:
    body: dict[str, Any] = {
        "type": kind,
        "event_id": f"{tid}-{kind}-{at.isoformat()}",
        "ticket_id": tid,
        "occurred_at": at.isoformat(),
    }
    if kind == "ticket.created":
        body.update(customer_id="c", tier="gold", priority=1)  # 75% at 22.5 min, 100% at 30
    if kind == "ticket.agent_responded":
        body["public"] = True
    return Record("events", partition, offset, tid.encode(), json.dumps(body).encode(), [])


def tick(at: datetime, partition: int = 0) -> Record:
    return Record("events", partition, 0, None, b"", [(TICK_HEADER, at.isoformat().encode())])


async def test_a_run_of_events_publishes_once_and_stores_after_the_acks() -> None:
    service, recorder, clock, _ = build()
    clock.now = T0 + timedelta(hours=1)
    late = T0 + timedelta(minutes=40)  # a response 40 min in: T1 and T2 breached on the way
    await service.on_batch(
        [
            event("T1", "ticket.created", T0),
            event("T2", "ticket.created", T0),
            event("T1", "ticket.agent_responded", late),
            event("T2", "ticket.agent_responded", late),
        ]
    )
    assert len(recorder.calls) == 1
    assert sorted((a.ticket_id, a.threshold or 0.0) for a in recorder.calls[0]) == [
        (t, x)
        for t in ("T1", "T2")
        for x in (0.0, 0.75, 0.9, 1.0)  # 0.0: sla.resolved
    ]
    assert recorder.sent_stored_at_call == [0]  # nothing recorded as sent before the ack
    assert sorted(service.table) == ["T1", "T2"]


@pytest.mark.parametrize("tick_first", [True, False])
async def test_ticks_and_events_of_a_partition_keep_their_log_order(tick_first: bool) -> None:
    service, recorder, clock, _ = build()
    await service.on_batch([event("T1", "ticket.created", T0)])
    clock.now = T0 + timedelta(minutes=23)  # 75% (09:22:30) is due at a tick of 09:23
    response = event("T1", "ticket.agent_responded", clock.now - timedelta(minutes=1))
    other = event("T9", "ticket.created", clock.now, partition=1)  # another partition between
    records = (
        [tick(clock.now), other, response] if tick_first else [response, other, tick(clock.now)]
    )
    await service.on_batch(records)
    raised = [(a.type, a.threshold) for call in recorder.calls for a in call]
    # The tick judged T1 before its response (alert, then resolved), or after it (nothing due).
    assert raised == ([("sla.near_breach", 0.75), ("sla.resolved", None)] if tick_first else [])


async def test_a_failing_record_goes_to_the_dlq_alone_and_its_batch_is_stored() -> None:
    service, recorder, _, _ = build(machine=True)
    batch = [
        event("T1", "ticket.created", T0, offset=1),
        event("boom-1", "ticket.created", T0, offset=2),
        event("T2", "ticket.created", T0, offset=3),
        Record("events", 0, 4, b"k", b"not json", []),
    ]
    await service.on_batch(batch)
    assert sorted((r.offset, reason) for r, reason in recorder.dead) == [
        (2, "internal_error"),
        (4, "not_json"),
    ]
    assert sorted(service.table) == ["T1", "T2"]


async def test_every_table_read_and_write_is_made_in_the_scope_of_its_partition() -> None:
    service, _, clock, table = build()
    await service.on_batch(
        [event(f"T{i}", "ticket.created", T0, partition=i % 3) for i in range(9)]
    )
    clock.now = T0 + timedelta(hours=1)
    await service.on_batch([tick(clock.now, partition=p) for p in range(3)])
    assert len(table.writes) == 18  # 9 creations, 9 tickets alerted at the ticks
    assert all(scope == partition for scope, partition in table.writes)
    assert len(table.reads) >= 18 and None not in table.reads  # reads look on one partition


class FlushingTable(ScopedTable):
    """A table that holds its writes until `flush` (as `ChangelogTable` holds its changelog
    records); the first `failures` flushes fail, as a broker that refuses does."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures, self.unsent = failures, 0
        self.flushed: list[int] = []

    def __setitem__(self, key: str, value: bytes) -> None:
        super().__setitem__(key, value)
        self.unsent += 1

    async def flush(self) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("broker unavailable")
        self.flushed.append(self.unsent)
        self.unsent = 0


async def test_states_are_flushed_once_per_run_after_the_acks_and_a_failed_flush_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("processor.worker.service.RETRY_DELAYS", (0.0,))
    service, recorder, clock, _ = build()
    table = FlushingTable(failures=2)
    service.table = service.store.table = table
    recorder.table = table
    clock.now = T0 + timedelta(hours=1)
    batch = [event(f"T{i}", "ticket.created", T0, offset=i) for i in range(4)]
    await service.on_batch(batch)
    assert table.flushed == [4]  # one flush of the four states, after two refused attempts
    clock.now += timedelta(seconds=3)  # past the hold of those late (backfilled) creations
    await service.on_batch([tick(clock.now)])  # all four breached long ago: one publish
    assert len(recorder.calls) == 1 and recorder.sent_stored_at_call == [0]
    assert table.flushed == [4, 4]  # the states that record the alerts: after the acks
    assert table.unsent == 0  # nothing left unflushed when on_batch returns (offsets acked)


async def test_events_and_ticks_of_several_partitions_settle_once_per_batch() -> None:
    service, recorder, clock, _ = build()
    table = FlushingTable()
    service.table = service.store.table = table
    recorder.table = table
    await service.on_batch([event(f"T{p}", "ticket.created", T0, partition=p) for p in range(3)])
    assert table.flushed == [3] and recorder.calls == []
    clock.now = T0 + timedelta(minutes=23)  # 75% of each (09:22:30) is due at a tick of 09:23
    batch = []
    for p in range(3):  # per partition: a new ticket, then a tick that raises the old one's 75%
        batch += [event(f"N{p}", "ticket.created", clock.now, partition=p), tick(clock.now, p)]
    await service.on_batch(batch)
    # One wait for the acks of the three partitions' alerts, then one flush of the six states
    # (three creations, three tickets whose 75% is now recorded as sent): not one per tick.
    assert [sorted(a.ticket_id for a in call) for call in recorder.calls] == [["T0", "T1", "T2"]]
    assert recorder.sent_stored_at_call == [0]
    assert table.flushed == [3, 6]
    assert all(len(decode_state(table[f"T{p}"]).sent) == 1 for p in range(3))


async def test_a_failure_after_a_tick_hands_the_batch_again_record_by_record() -> None:
    service, recorder, clock, table = build(machine=True)
    await service.on_batch([event("T1", "ticket.created", T0, offset=1)])
    clock.now = T0 + timedelta(minutes=23)
    batch = [
        Record("events", 0, 2, b"k", b"not json", []),
        tick(clock.now),  # raises T1's 75%; applied, not yet published, when boom-1 fails
        event("boom-1", "ticket.created", clock.now, offset=3),
        event("T2", "ticket.created", clock.now, partition=1, offset=4),
    ]
    await service.on_batch(batch)
    # Each record once: the bad one dead-lettered before the failure is not sent twice, the
    # tick's alert published once (by the record-by-record pass), the other partition stored.
    assert sorted((r.offset, reason) for r, reason in recorder.dead) == [
        (2, "not_json"),
        (3, "internal_error"),
    ]
    assert [(a.ticket_id, a.threshold) for call in recorder.calls for a in call] == [("T1", 0.75)]
    assert sorted(table) == ["T1", "T2"]
    assert len(decode_state(table["T1"]).sent) == 1


async def test_a_ticket_a_tick_cannot_judge_is_dead_lettered_after_the_batch_settles() -> None:
    service, recorder, clock, table = build(machine=True)
    await service.on_batch(
        [event("tickboom-1", "ticket.created", T0), event("T1", "ticket.created", T0)]
    )
    clock.now = T0 + timedelta(minutes=23)
    await service.on_batch([tick(clock.now)])
    assert [(r.offset, reason) for r, reason in recorder.dead] == [(0, "internal_error")]
    assert [(a.ticket_id, a.threshold) for call in recorder.calls for a in call] == [("T1", 0.75)]
    assert decode_state(table["tickboom-1"]).sent == []  # its stored state stands


async def test_the_dead_letters_of_a_batch_are_sent_together_with_one_wait() -> None:
    service, recorder, _, table = build()
    waiting: list[Record] = []
    most = 0

    async def dead_letter(record: Record, reason: str, message: str, extra: object = ()) -> None:
        nonlocal most
        waiting.append(record)
        most = max(most, len(waiting))
        await asyncio.sleep(0.01)  # the broker's ack
        waiting.remove(record)
        recorder.dead.append((record, reason))

    recorder.dead_letter = dead_letter  # type: ignore[method-assign]
    bad = [Record("events", p, p, b"k", b"not json", []) for p in range(3)]
    await service.on_batch([bad[0], event("T1", "ticket.created", T0), bad[1], bad[2]])
    assert sorted(r.offset for r, _ in recorder.dead) == [0, 1, 2]
    assert most == 3  # all three waited for their acks at once, not one after the other
    assert sorted(table) == ["T1"]
