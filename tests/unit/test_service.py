"""The worker's per-record algorithm with an in-memory table and a recording publisher.

Kafka itself is exercised in tests/integration; this checks the glue: ack-before-store, DLQ
routing, tick handling, index rebuild from table rows, and census-derived gauges.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from processor.domain.alerts import Alert
from processor.domain.policy import default_policy
from processor.worker.metrics import Metrics, TicketCensus
from processor.worker.rows import decode_state
from processor.worker.service import TICK_HEADER, Record, SlaService

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, table: dict[str, bytes]) -> None:
        self.table = table
        self.sent: list[Alert] = []
        self.dead: list[tuple[Record, str]] = []
        self.table_at_ack: list[bytes | None] = []

    async def alerts(self, alerts: list[Alert]) -> None:
        self.table_at_ack.append(self.table.get(alerts[0].ticket_id))
        self.sent.extend(alerts)

    async def dead_letter(
        self, record: Record, reason: str, message: str, extra: object = ()
    ) -> None:
        self.dead.append((record, reason))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[SlaService, Recorder, Clock, CollectorRegistry]:
    table: dict[str, bytes] = {}
    registry = CollectorRegistry()
    census = TicketCensus()
    recorder = Recorder(table)
    clock = Clock()
    service = SlaService(
        default_policy(), table, recorder, Metrics(registry, census), census, clock, 64 * 1024
    )
    return service, recorder, clock, registry


def rec(value: dict[str, Any] | bytes, partition: int = 0, key: bytes | None = None) -> Record:
    if isinstance(value, dict):
        key = key or value["ticket_id"].encode()
        value = json.dumps(value).encode()
    return Record("events", partition, 0, key, value, [])


def tick(at: datetime, partition: int = 0) -> Record:
    return Record("events", partition, 0, None, b"", [(TICK_HEADER, at.isoformat().encode())])


def created(tid: str = "T1") -> dict[str, Any]:
    return {
        "type": "ticket.created",
        "event_id": f"{tid}c",
        "ticket_id": tid,
        "occurred_at": "2026-01-05T09:00:00Z",
        "customer_id": "c",
        "tier": "gold",
        "priority": 1,
    }


async def test_ticks_raise_due_alerts_after_the_ack_and_before_the_store(world: Any) -> None:
    service, recorder, clock, registry = world
    await service.on_record(rec(created()))
    clock.now = T0 + timedelta(minutes=23)
    await service.on_record(tick(clock.now))
    assert [a.threshold for a in recorder.sent] == [0.75]
    assert recorder.sent[0].emitted_at == clock.now
    # When the alert was acked, the stored state did not record it yet (at-least-once).
    stored_before = recorder.table_at_ack[0]
    assert stored_before is not None and decode_state(stored_before).sent == []
    assert decode_state(service.table["T1"]).sent == [("2026-01-05T09:30:00Z", 0.75)]
    assert (
        registry.get_sample_value(
            "sla_at_risk_tickets", {"tier": "gold", "priority": "1", "metric": "first_response"}
        )
        == 1
    )
    assert registry.get_sample_value("sla_alert_delay_seconds_sum") == pytest.approx(30.0)


async def test_a_tick_on_another_partition_raises_nothing(world: Any) -> None:
    service, recorder, clock, _ = world
    await service.on_record(rec(created(), partition=2))
    clock.now = T0 + timedelta(hours=1)
    await service.on_record(tick(T0 + timedelta(hours=1), partition=1))
    assert recorder.sent == []
    await service.on_record(tick(T0 + timedelta(hours=1), partition=2))
    assert [a.type for a in recorder.sent] == ["sla.near_breach", "sla.near_breach", "sla.breached"]


async def test_invalid_input_goes_to_the_dlq_and_is_counted(world: Any) -> None:
    service, recorder, _, registry = world
    await service.on_record(rec(b"nope", key=b"k"))
    await service.on_record(rec(created(), key=b"someone-else"))
    assert [r for _, r in recorder.dead] == ["not_json", "bad_key"]
    assert registry.get_sample_value("sla_invalid_events_total", {"reason": "bad_key"}) == 1
    assert service.table == {}


async def test_rebuild_restores_index_and_gauges_from_table_rows(world: Any) -> None:
    service, recorder, clock, registry = world
    await service.on_record(rec(created("T1"), partition=0))
    await service.on_record(rec(created("T2"), partition=1))
    rows = list(service.table.items())
    service.rebuild(rows, active={1})
    clock.now = T0 + timedelta(hours=1)
    assert (
        registry.get_sample_value(
            "sla_open_tickets", {"tier": "gold", "priority": "1", "metric": "first_response"}
        )
        == 1
    )
    await service.on_record(tick(T0 + timedelta(hours=1), partition=0))
    assert recorder.sent == []  # partition 0 is not ours any more
    await service.on_record(tick(T0 + timedelta(hours=1), partition=1))
    assert {a.ticket_id for a in recorder.sent} == {"T2"}


async def test_finished_ticket_is_deleted_after_the_retention(world: Any) -> None:
    service, recorder, clock, registry = world
    await service.on_record(rec(created()))
    responded = {
        "type": "ticket.agent_responded",
        "event_id": "r",
        "ticket_id": "T1",
        "occurred_at": "2026-01-05T09:05:00Z",
    }
    await service.on_record(rec(responded))
    assert (
        registry.get_sample_value(
            "sla_responses_total",
            {"tier": "gold", "priority": "1", "outcome": "met", "metric": "first_response"},
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "sla_first_response_seconds_sum",
            {"tier": "gold", "priority": "1", "metric": "first_response"},
        )
        == 300
    )
    assert "T1" in service.table  # tombstone: a late duplicate cannot re-open it
    clock.now = T0 + timedelta(days=8)
    await service.on_record(tick(T0 + timedelta(days=8)))
    assert "T1" in service.table  # kept for the policy's tombstone_retention (30 days)
    await service.on_record(rec({**created(), "event_id": "T1c-redelivered"}))
    clock.now = T0 + timedelta(days=8, hours=1)
    await service.on_record(tick(clock.now))
    assert recorder.sent == []  # the redelivered ticket.created re-opened nothing
    clock.now = T0 + timedelta(days=30, minutes=6)
    await service.on_record(tick(T0 + timedelta(days=30, minutes=6)))
    assert "T1" not in service.table
    assert len(service.index) == 0


async def test_while_old_events_flow_in_a_tick_only_raises_up_to_their_event_time(
    world: Any,
) -> None:
    # A backfill: the creation (09:00) and, further down the log, the response (09:20) of a
    # gold P1 ticket are read a moment apart, with a wall-clock tick (10:00) in between.
    service, recorder, clock, _ = world
    clock.now = T0 + timedelta(hours=1)
    await service.on_record(rec(created()))
    await service.on_record(tick(clock.now))
    assert recorder.sent == []  # held at 09:00, the newest event time read
    responded = {
        "type": "ticket.agent_responded",
        "event_id": "r",
        "ticket_id": "T1",
        "occurred_at": "2026-01-05T09:20:00Z",
    }
    await service.on_record(rec(responded))
    clock.now += timedelta(seconds=3)  # the partition goes quiet: wall-clock ticks again
    await service.on_record(tick(clock.now))
    # 75% (09:22:30) was never due: the response came first, as in replay.
    assert recorder.sent == []


async def test_an_alert_due_just_after_an_on_time_event_waits_for_no_quiet_period(
    world: Any,
) -> None:
    service, recorder, clock, _ = world
    await service.on_record(rec(created()))  # gold P1 at 09:00: 75% at 09:22:30
    note = {
        "type": "ticket.agent_responded",
        "event_id": "n",
        "ticket_id": "T1",
        "occurred_at": "2026-01-05T09:22:29.900000Z",
        "public": False,
    }
    clock.now = T0 + timedelta(minutes=22, seconds=30)  # read 100 ms after it occurred
    await service.on_record(rec(note))
    clock.now += timedelta(seconds=0.5)
    await service.on_record(tick(clock.now))
    # Held back by the note's 100 ms, not at its occurred_at for 2 s: the alert is out.
    assert [a.threshold for a in recorder.sent] == [0.75]
