"""No record lost, live: malformed ticks, ticks from a clock ahead, exceptions inside the core
and a broker that refuses a publish, each with an in-memory table and a recording publisher
(the same paths against the real broker: tests/integration/test_worker_robust.py)."""

from __future__ import annotations

import json
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
    def __init__(self) -> None:
        self.sent: list[Alert] = []
        self.dead: list[tuple[Record, str, str, list[tuple[str, bytes]]]] = []
        self.refuse = 0

    async def alerts(self, alerts: list[Alert]) -> None:
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("broker refused")
        self.sent.extend(alerts)

    async def dead_letter(
        self, record: Record, reason: str, message: str, extra: list[tuple[str, bytes]]
    ) -> None:
        self.dead.append((record, reason, message, extra))


class Clock:
    now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world() -> tuple[SlaService, Recorder, Clock, CollectorRegistry]:
    registry, census, recorder, clock = CollectorRegistry(), TicketCensus(), Recorder(), Clock()
    policy = default_policy()
    service = SlaService(
        policy,
        {},
        recorder,
        Metrics(registry, census),
        census,
        clock,
        64 * 1024,
        machine=FaultyMachine(policy),
    )
    return service, recorder, clock, registry


def event(ticket: str, at: datetime = T0, partition: int = 0) -> Record:
    body = {
        "type": "ticket.created",
        "event_id": f"{ticket}-c",
        "ticket_id": ticket,
        "occurred_at": at.isoformat(),
        "customer_id": "c",
        "tier": "gold",
        "priority": 1,
    }
    return Record("events", partition, 7, ticket.encode(), json.dumps(body).encode(), [])


def tick(stamp: bytes, partition: int = 0) -> Record:
    return Record("events", partition, 9, None, b"", [(TICK_HEADER, stamp)])


def invalid(registry: CollectorRegistry, reason: str) -> float | None:
    return registry.get_sample_value("sla_invalid_events_total", {"reason": reason})


async def test_a_record_the_core_raises_on_goes_to_the_dlq_and_the_worker_carries_on(
    world: Any,
) -> None:
    service, recorder, clock, registry = world
    await service.on_record(event("boom-1"))
    [(record, reason, message, extra)] = recorder.dead
    assert (record.offset, reason) == (7, "internal_error")
    assert "ZeroDivisionError: injected fault" in message
    assert extra == [("sla-dlq-exception", b"ZeroDivisionError")]
    assert invalid(registry, "internal_error") == 1
    assert "boom-1" not in service.table
    # The next record is handled as usual.
    await service.on_record(event("T1"))
    clock.now = T0 + timedelta(hours=1)
    await service.on_record(tick(clock.now.isoformat().encode()))
    assert [a.ticket_id for a in recorder.sent] == ["T1", "T1", "T1"]


@pytest.mark.parametrize("stamp", [b"not-a-time", b"2026-01-05T09:00:00", b"\xff\xfe"])
async def test_a_malformed_tick_goes_to_the_dlq(world: Any, stamp: bytes) -> None:
    service, recorder, _, registry = world
    await service.on_record(tick(stamp))
    assert [(r.offset, reason) for r, reason, _, _ in recorder.dead] == [(9, "bad_tick")]
    assert invalid(registry, "bad_tick") == 1


async def test_a_tick_from_a_clock_ahead_is_clamped_to_the_workers_clock(world: Any) -> None:
    service, recorder, clock, _ = world
    await service.on_record(event("T1"))
    clock.now = T0 + timedelta(minutes=10)
    await service.on_record(tick(b"2099-01-01T00:00:00+00:00"))
    assert recorder.sent == []  # nothing of T1 is due at 09:10
    clock.now = T0 + timedelta(minutes=23)
    await service.on_record(tick(b"2099-01-01T00:00:00+00:00"))
    assert [a.threshold for a in recorder.sent] == [0.75]


async def test_a_ticket_whose_due_raises_spoils_no_other_ticket_of_the_tick(world: Any) -> None:
    service, recorder, clock, registry = world
    await service.on_record(event("T1"))
    await service.on_record(event("tickboom-1"))
    await service.on_record(event("T2"))
    clock.now = T0 + timedelta(hours=1)
    await service.on_record(tick(clock.now.isoformat().encode()))
    assert sorted({a.ticket_id for a in recorder.sent}) == ["T1", "T2"]
    [(record, reason, message, _)] = recorder.dead
    assert (record.offset, reason) == (9, "internal_error")
    assert "tickboom-1" in message and "OverflowError" in message
    assert invalid(registry, "internal_error") == 1


async def test_a_refused_publish_is_retried_and_nothing_is_stored_before_it(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("processor.worker.service.RETRY_DELAYS", (0.0,))
    service, recorder, clock, _ = world
    await service.on_record(event("T1"))
    recorder.refuse = 3
    clock.now = T0 + timedelta(hours=1)
    await service.on_record(tick(clock.now.isoformat().encode()))
    assert [a.threshold for a in recorder.sent] == [0.75, 0.9, 1.0]
    assert recorder.dead == []
    assert decode_state(service.table["T1"]).sent[0] == ("2026-01-05T09:30:00Z", 0.75)
