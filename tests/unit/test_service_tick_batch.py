"""A tick raising alerts for many tickets publishes them together, before any state is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from processor.domain.alerts import Alert
from processor.domain.policy import default_policy
from processor.worker.metrics import Metrics, TicketCensus
from processor.worker.rows import decode_state
from processor.worker.service import TICK_BATCH, TICK_HEADER, Record, SlaService

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class BatchRecorder:
    """Records each publish call and the stored rows at the moment of that call."""

    def __init__(self, table: dict[str, bytes]) -> None:
        self.table = table
        self.calls: list[list[Alert]] = []
        self.sent_in_table_at_call: list[int] = []

    async def alerts(self, alerts: list[Alert]) -> None:
        self.calls.append(alerts)
        stored = [decode_state(row) for row in self.table.values()]
        self.sent_in_table_at_call.append(sum(len(s.sent) for s in stored))

    async def dead_letter(
        self, record: Record, reason: str, message: str, extra: object = ()
    ) -> None:
        raise AssertionError("no dead letters expected")


def created(tid: str) -> Record:
    body = {
        "type": "ticket.created",
        "event_id": f"{tid}c",
        "ticket_id": tid,
        "occurred_at": "2026-01-05T09:00:00Z",
        "customer_id": "c",
        "tier": "gold",
        "priority": 1,
    }
    return Record("events", 0, 0, tid.encode(), json.dumps(body).encode(), [])


def tick(at: datetime) -> Record:
    return Record("events", 0, 0, None, b"", [(TICK_HEADER, at.isoformat().encode())])


async def test_one_publish_per_batch_and_states_stored_after_the_acks() -> None:
    table: dict[str, bytes] = {}
    census = TicketCensus()
    recorder = BatchRecorder(table)
    now = T0
    service = SlaService(
        default_policy(),
        table,
        recorder,
        Metrics(CollectorRegistry(), census),
        census,
        lambda: now,
        64 * 1024,
    )
    count = TICK_BATCH + 5
    for i in range(count):
        await service.on_record(created(f"T{i}"))
    now = T0 + timedelta(minutes=40)  # past 75%, 90% and the breach of a 30 min target
    await service.on_record(tick(now))
    assert [len(c) for c in recorder.calls] == [3 * TICK_BATCH, 3 * 5]
    assert recorder.sent_in_table_at_call == [0, 3 * TICK_BATCH]
    assert all(len(decode_state(row).sent) == 3 for row in table.values())
    assert {a.emitted_at for c in recorder.calls for a in c} == {now}
    assert len({a.alert_id for c in recorder.calls for a in c}) == 3 * count
