"""A producer nobody here wrote: confluent-kafka (librdkafka) with its default partitioner.

librdkafka hashes keys with CRC32 by default, not murmur2 as the Java client and aiokafka do. Two
real workers share the input topic; every ticket must be found through either worker's
`/tickets/{id}`, records off murmur2 must be counted and warned about, and a ticket written
through both partitioners must be reported as split (metric and log with its id).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families
from worker_harness import REPO, Topics, WorkerProcess, create_topics, produce, read_all

from processor.kafka.partitioning import murmur2_partition

pytestmark = pytest.mark.integration

N = 4


@pytest.fixture(scope="module")
def pair(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two workers of one app on a fresh 4-partition input topic, each owning two partitions."""
    tag = uuid.uuid4().hex[:8]
    topics = Topics(f"ev-{tag}", f"al-{tag}", f"dlq-{tag}", f"app-{tag}", partitions=N)
    asyncio.run(create_topics(kafka_bootstrap, topics))
    data = tmp_path_factory.mktemp("pair")
    workers = [WorkerProcess(kafka_bootstrap, topics, data / name).start() for name in ("a", "b")]
    try:
        for w in workers:
            w.wait_ready()
        _wait_split_assignment(workers)
        yield topics, workers
    finally:
        for w in workers:
            w.stop()


def _samples(worker: WorkerProcess, name: str) -> list[tuple[dict[str, str], float]]:
    status, body = worker.get("/metrics")
    assert status == 200
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name
    ]


def _total(workers: list[WorkerProcess], name: str, **labels: str) -> float:
    return sum(
        v
        for w in workers
        for got, v in _samples(w, name)
        if all(got.get(k) == want for k, want in labels.items())
    )


def _wait_split_assignment(workers: list[WorkerProcess], timeout: float = 120.0) -> None:
    """Until each worker owns some input partitions, together all of them, three polls running
    (from the lag gauge, which lists the partitions a worker owns) and both are ready."""
    deadline, streak, owned = time.monotonic() + timeout, 0, []
    while time.monotonic() < deadline:
        owned = [
            {int(labels["partition"]) for labels, _ in _samples(w, "sla_consumer_lag_records")}
            for w in workers
        ]
        ready = all(w.get("/healthz")[0] == 200 for w in workers)
        split = all(owned) and set().union(*owned) == set(range(N)) and not owned[0] & owned[1]
        streak = streak + 1 if split and ready else 0
        if streak >= 3:
            return
        time.sleep(1)
    raise AssertionError(f"partitions not split between the workers: {owned}")


def _created(tid: str) -> dict[str, Any]:
    return {
        "type": "ticket.created",
        "event_id": f"{tid}-c",
        "ticket_id": tid,
        "occurred_at": datetime.now(UTC).isoformat(),
        "customer_id": f"cust-{tid}",
        "tier": "gold",
        "priority": 4,
    }


def _responded(tid: str) -> dict[str, Any]:
    return {
        "type": "ticket.agent_responded",
        "event_id": f"{tid}-r",
        "ticket_id": tid,
        "occurred_at": datetime.now(UTC).isoformat(),
        "public": False,  # an internal note: the ticket stays open, its state stays simple
    }


def _produce_rdkafka(
    bootstrap: str, topic: str, events: list[dict[str, Any]], **config: str
) -> dict[str, int]:
    """Produce through librdkafka (its default partitioner unless `config` sets one); returns
    ticket -> partition from the delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **config})
    placed: dict[str, int] = {}
    errors: list[Any] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)
        else:
            placed[msg.key().decode()] = msg.partition()

    for event in events:
        key = event["ticket_id"].encode()
        producer.produce(topic, json.dumps(event).encode(), key, on_delivery=delivered)
    assert producer.flush(30) == 0
    assert not errors, errors
    return placed


def _wait_found(workers: list[WorkerProcess], tickets: list[str], timeout: float = 90.0) -> None:
    deadline, missing = time.monotonic() + timeout, list(tickets)
    while time.monotonic() < deadline and missing:
        missing = [t for t in missing if any(w.get(f"/tickets/{t}")[0] != 200 for w in workers)]
        time.sleep(0.5)
    assert not missing, f"{len(missing)} tickets not found: {missing[:5]}"


def test_librdkafka_default_tickets_are_found_from_either_worker(
    kafka_bootstrap: str, pair: Any
) -> None:
    topics, workers = pair
    tickets = [f"rd-{i}" for i in range(60)]
    placed = _produce_rdkafka(kafka_bootstrap, topics.events, [_created(t) for t in tickets])
    # librdkafka's default (consistent_random) is CRC32, so most tickets are off murmur2
    assert all(p == zlib.crc32(t.encode()) % N for t, p in placed.items())
    off = [t for t in tickets if placed[t] != murmur2_partition(t.encode(), N)]
    assert len(off) >= 30

    _wait_found(workers, tickets)
    for w in workers:
        for t in tickets:
            status, body = w.get(f"/tickets/{t}")
            assert status == 200 and json.loads(body)["ticket_id"] == t

    assert _total(workers, "sla_mispartitioned_records_total", partitioner="crc32") >= len(off)
    assert _total(workers, "sla_mispartitioned_records_total", partitioner="unknown") == 0
    warned = [w.tail(100_000).count("not partitioned by murmur2") for w in workers]
    assert max(warned) == 1, warned  # once per worker and pattern, by at least one

    # what a lookup costs: requests between workers, per found ticket and per miss
    before = _total(workers, "sla_ticket_lookup_requests_total")
    for w in workers:
        for t in tickets:
            assert w.get(f"/tickets/{t}")[0] == 200
    found_cost = (_total(workers, "sla_ticket_lookup_requests_total") - before) / (2 * 60)
    before = _total(workers, "sla_ticket_lookup_requests_total")
    for i in range(40):
        assert workers[i % 2].get(f"/tickets/missing-{i}")[0] == 404
    miss_cost = (_total(workers, "sla_ticket_lookup_requests_total") - before) / 40
    print(f"\nrequests between workers: {found_cost:.2f} per found, {miss_cost:.2f} per miss")
    assert found_cost <= 1 and miss_cost <= 1  # two workers: at most the other one, once


def test_librdkafka_with_murmur2_random_is_on_contract(kafka_bootstrap: str, pair: Any) -> None:
    """The README's setting for librdkafka clients puts every ticket where the worker expects."""
    topics, workers = pair
    tickets = [f"mm-{i}" for i in range(40)]
    before = _total(workers, "sla_mispartitioned_records_total")
    events = [_created(t) for t in tickets]
    placed = _produce_rdkafka(kafka_bootstrap, topics.events, events, partitioner="murmur2_random")
    assert all(p == murmur2_partition(t.encode(), N) for t, p in placed.items())
    _wait_found(workers, tickets)
    assert _total(workers, "sla_mispartitioned_records_total") == before


def test_a_ticket_written_through_both_partitioners_is_reported_split(
    kafka_bootstrap: str, pair: Any
) -> None:
    topics, workers = pair
    tid = next(
        t
        for t in (f"split-{i}" for i in range(100))
        if zlib.crc32(t.encode()) % N != murmur2_partition(t.encode(), N)
    )
    before = _total(workers, "sla_split_tickets_total", topic=topics.events)
    asyncio.run(produce(kafka_bootstrap, topics.events, [_created(tid)]))  # aiokafka: murmur2
    _produce_rdkafka(kafka_bootstrap, topics.events, [_responded(tid)])  # librdkafka: CRC32
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _total(workers, "sla_split_tickets_total", topic=topics.events) > before:
            break
        time.sleep(0.5)
    assert _total(workers, "sla_split_tickets_total", topic=topics.events) == before + 1
    parts = sorted({murmur2_partition(tid.encode(), N), zlib.crc32(tid.encode()) % N})
    reports = [
        line
        for w in workers
        for line in w.tail(100_000).splitlines()
        if repr(tid) in line and "SLA is split" in line
    ]
    assert len(reports) == 1 and str(parts) in reports[0], reports
    assert all(w.get(f"/tickets/{tid}")[0] == 200 for w in workers)  # still served, not hidden


def test_a_deleted_ticket_withdraws_its_sighting(kafka_bootstrap: str, tmp_path: Path) -> None:
    """When an off-home ticket's state is deleted (end of its retention), a `gone` sighting goes
    to its home partition, so the sightings table does not grow with finished tickets."""
    tag = uuid.uuid4().hex[:8]
    topics = Topics(f"ev-{tag}", f"al-{tag}", f"dlq-{tag}", f"app-{tag}", partitions=N)
    asyncio.run(create_topics(kafka_bootstrap, topics))
    policy = tmp_path / "policy.yaml"
    shipped = (REPO / "processor/domain/default_policy.yaml").read_text()
    # A stopped ticket goes at once (the shipped policy states its own tombstone_retention).
    policy.write_text(re.sub(r"(?m)^tombstone_retention:.*$", "tombstone_retention: 1s", shipped))
    worker = WorkerProcess(
        kafka_bootstrap, topics, tmp_path / "w", extra_env={"SLA_POLICY_FILE": str(policy)}
    ).start()
    try:
        worker.wait_ready()
        tid = next(
            t
            for t in (f"gone-{i}" for i in range(100))
            if zlib.crc32(t.encode()) % N != murmur2_partition(t.encode(), N)
        )
        created = _created(tid)
        answered = {**_responded(tid), "public": True}  # stops it: deleted 1 s later
        _produce_rdkafka(kafka_bootstrap, topics.events, [created, answered])
        crc, home = zlib.crc32(tid.encode()) % N, murmur2_partition(tid.encode(), N)
        want = [str(crc).encode(), f"{crc} gone".encode()]
        deadline, got = time.monotonic() + 60, []
        while time.monotonic() < deadline and got != want:
            records = asyncio.run(read_all(kafka_bootstrap, topics.events, idle=1.0))
            got = [
                value
                for r in records
                if r.key == tid.encode() and r.partition == home
                for name, value in r.headers
                if name == "sla-sighting"
            ]
        assert got == want, got
        assert worker.get(f"/tickets/{tid}")[0] == 404  # deleted, and looked for everywhere
    finally:
        worker.stop()
