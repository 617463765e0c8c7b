"""No record lost, against the real broker: every record the worker cannot handle reaches the
DLQ with its reason and is counted, and the worker carries on without a restart.

The worker is `tests/faulty_worker.py`: `sla-processor worker` with an SLA core that raises for
tickets named `boom-*` (in apply) and `tickboom-*` (in due), injected through `create_app`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from worker_harness import REPO, Topics, WorkerProcess, alerts_of, create_topics, read_all

pytestmark = pytest.mark.integration

TICK = "sla-tick"
PARTITIONS = 2


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def created(tid: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ticket.created",
        "event_id": f"{tid}-c",
        "ticket_id": tid,
        "occurred_at": _iso(at),
        "customer_id": "cust",
        "tier": "gold",
        "priority": 1,
        **extra,
    }


async def _send(bootstrap: str, topic: str, records: list[tuple[Any, ...]]) -> None:
    """(value dict or bytes, partition or None, headers) records, acked."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value, partition, headers in records:
            if isinstance(value, dict):
                key, raw = value["ticket_id"].encode(), json.dumps(value).encode()
            else:
                key, raw = None, value
            await producer.send_and_wait(topic, raw, key=key, partition=partition, headers=headers)
    finally:
        await producer.stop()


@pytest.fixture
def worker(kafka_bootstrap: str, unique_name: Any, tmp_path: Path) -> Any:
    topics = Topics(
        unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app"), PARTITIONS
    )
    asyncio.run(create_topics(kafka_bootstrap, topics))
    w = WorkerProcess(
        kafka_bootstrap, topics, tmp_path / "w", argv=[str(REPO / "tests" / "faulty_worker.py")]
    )
    w.start()
    yield w
    w.stop()


def test_records_that_fail_reach_the_dlq_and_the_worker_carries_on(
    kafka_bootstrap: str, worker: WorkerProcess
) -> None:
    topics = worker.topics
    worker.wait_ready()
    now = datetime.now(UTC).replace(microsecond=0)
    future = created("LATER", now)  # gold P1: nothing due for 22 minutes
    records: list[tuple[Any, ...]] = [
        (future, None, []),
        # A zone that is a directory of the tz database (raised IsADirectoryError before).
        (created("DIR", now, timezone="America"), None, []),
        # The core raises on this one.
        (created("boom-1", now), None, []),
        # ...and on this one's due, at the first tick after its thresholds.
        (created("tickboom-1", now - timedelta(hours=1)), None, []),
    ]
    for partition in range(PARTITIONS):
        records.append((b"", partition, [(TICK, b"not-a-time")]))
        records.append((b"", partition, [(TICK, b"2099-01-01T00:00:00+00:00")]))
    # A good backdated ticket read after all of them: paged at once, with no agent restart.
    records.append((created("GOOD", now - timedelta(hours=1)), None, []))
    asyncio.run(_send(kafka_bootstrap, topics.events, records))

    dlq = asyncio.run(read_all(kafka_bootstrap, topics.dlq, until_count=5, timeout=60))
    found = sorted(
        (dict(r.headers)["sla-dlq-reason"].decode(), (r.key or b"").decode()) for r in dlq
    )
    assert found == [
        ("bad_tick", ""),
        ("bad_tick", ""),
        ("internal_error", ""),  # the tick at which tickboom-1's due raised
        ("internal_error", "boom-1"),
        ("invalid_field", "DIR"),
    ]
    boom = next(r for r in dlq if r.key == b"boom-1")
    headers = dict(boom.headers)
    assert headers["sla-dlq-exception"] == b"ZeroDivisionError"
    assert b"injected fault" in headers["sla-dlq-message"]
    assert json.loads(boom.value)["ticket_id"] == "boom-1"  # the original bytes
    tick_failure = next(
        r
        for r in dlq
        if r.key is None and b"tickboom-1" in dict(r.headers).get("sla-dlq-message", b"")
    )
    assert dict(tick_failure.headers)["sla-dlq-exception"] == b"OverflowError"

    got = alerts_of(asyncio.run(read_all(kafka_bootstrap, topics.alerts, until_count=3)))
    # GOOD's three thresholds; none of LATER's, although a tick said 2099 (clamped).
    assert sorted((a["ticket_id"], a["threshold"]) for a in got) == [
        ("GOOD", 0.75),
        ("GOOD", 0.9),
        ("GOOD", 1.0),
    ]
    _, metrics = worker.get("/metrics")
    assert b'sla_invalid_events_total{reason="bad_tick"} 2.0' in metrics
    assert b'sla_invalid_events_total{reason="internal_error"} 2.0' in metrics
    log = worker.tail(400)
    assert "Agent crashed" not in log and "restarting" not in log.lower(), log
