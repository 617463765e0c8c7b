"""Hostile input: 10,000 records of generated garbage and near-valid mutations, mixed with good
events. The worker must not crash; every bad record must be on the DLQ with its reason; every
good one must be processed."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools import Topics, WorkerProcess, create_topics, produce, read_all, wait_caught_up
from processor.domain.events import InvalidEvent, parse_event

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

GOOD = {
    "type": "ticket.created",
    "event_id": "",
    "ticket_id": "",
    "occurred_at": "2026-01-05T09:00:00Z",
    "customer_id": "c",
    "tier": "gold",
    "priority": 4,
    "timezone": "Europe/Paris",
}


def _mutation(rng: random.Random, i: int) -> dict[str, Any] | bytes:
    """A near-valid event with one thing wrong (or right: the oracle decides)."""
    event: dict[str, Any] = {**GOOD, "event_id": f"m{i}", "ticket_id": f"m{i}"}
    field = rng.choice(list(event))
    kind = rng.randrange(9)
    if kind == 0:
        event[field] = rng.choice([None, 7, -1, 2**70, 1.5, True, [], {}, "", "x" * 5000])
    elif kind == 1:
        del event[field]
    elif kind == 2:
        event["occurred_at"] = rng.choice(
            [
                "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59-12:00",
                "2026-13-45T99:99:99Z",
                "2026-01-05T09:00:00",
                "yesterday",
                "2026-01-05T09:00:00+25:00",
            ]
        )
    elif kind == 3:
        event["type"] = rng.choice(["ticket.deleted", "TICKET.CREATED", "", 3])
    elif kind == 4:
        event["customer_id"] = "y" * rng.choice([10, 200_000])
    elif kind == 5:
        depth = rng.choice([10, 5_000])
        return b'{"type": "ticket.created", "x": ' + b"[" * depth + b"]" * depth + b"}"
    elif kind == 6:
        return json.dumps(event).encode()[: rng.randrange(1, 80)]  # truncated
    elif kind == 7:
        return json.dumps(event).encode().replace(b'"c"', b'"\xff\xfe"')  # invalid UTF-8
    else:
        event["priority"] = rng.choice(["1", 0, 5, 4.0])
    return event


def _messages(rng: random.Random, n: int) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.3:
            event = {**GOOD, "event_id": f"g{i}", "ticket_id": f"g{i}"}
            out.append((f"g{i}".encode(), json.dumps(event).encode()))
        elif roll < 0.5:
            out.append((f"b{i}".encode(), rng.randbytes(rng.randrange(0, 300))))
        else:
            value = _mutation(rng, i)
            raw = value if isinstance(value, bytes) else json.dumps(value).encode()
            out.append((f"m{i}".encode(), raw))
    return out


def _oracle(key: bytes, value: bytes) -> str | None:
    """The reason a record must be rejected for, or None if it is a good event."""
    try:
        event = parse_event(value)
    except InvalidEvent as exc:
        return exc.reason
    return None if event.ticket_id.encode() == key else "bad_key"


def _processed(worker: WorkerProcess) -> float:
    """The worker's `sla_events_total`, summed over the event types."""
    status, body = worker.get("/metrics")
    assert status == 200
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.decode().splitlines()
        if line.startswith("sla_events_total{")
    )


@settings(max_examples=1, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_10k_hostile_records(
    seed: int,
    kafka_bootstrap: str,
    unique_name: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    topics = Topics(unique_name("ev"), unique_name("al"), unique_name("dlq"), unique_name("app"))
    asyncio.run(create_topics(kafka_bootstrap, topics))
    messages = _messages(random.Random(seed), 10_000)
    want = Counter(r for k, v in messages if (r := _oracle(k, v)) is not None)
    good = sum(1 for k, v in messages if _oracle(k, v) is None)
    assert good > 2000 and sum(want.values()) > 5000
    worker = WorkerProcess(kafka_bootstrap, topics, tmp_path_factory.mktemp("w")).start()
    try:
        worker.wait_ready()
        asyncio.run(
            produce(
                kafka_bootstrap, topics.events, [v for _, v in messages], [k for k, _ in messages]
            )
        )
        wait_caught_up(worker, topics.partitions)
        dlq = asyncio.run(
            read_all(kafka_bootstrap, topics.dlq, until_count=sum(want.values()), timeout=120)
        )
        got = Counter(dict(r.headers)["sla-dlq-reason"].decode() for r in dlq)
        print(f"\nhostile: {len(messages)} records, {good} good, DLQ by reason {dict(got)}")
        assert got == want
        by_key = {r.key: r.value for r in dlq}
        assert all(by_key[k] == v for k, v in messages if k in by_key)  # original bytes
        # A batch's good events are counted once the batch settled (its states flushed), which
        # can be just after its last dead letter was acked: wait for the count, then no more.
        processed = _processed(worker)
        deadline = time.monotonic() + 30
        while processed < good and time.monotonic() < deadline:
            time.sleep(0.5)
            processed = _processed(worker)
        assert processed == good
        assert worker.proc is not None and worker.proc.poll() is None
    finally:
        worker.stop()
    assert "Traceback" not in Path(worker.log_path or "").read_text(errors="replace")
