"""For the three-broker chaos tests: replicated topics, keyed input with each record's
partition (for a per-partition `replay`), "live" tickets whose breaches fall due while the
cluster is disturbed, and their delays.

The backlog goes to input partitions 1..N-1 (each ticket to one, by a hash of its id) and the live
tickets to partition 0, so their breaches are raised by the ticks of a partition with no backlog
to wait for: their delay is the worker's and the cluster's, not the backlog's.

The alert delay of a live breach is the broker's append time of its first copy on the alerts
topic (the topic uses LogAppendTime) minus its `due_at`: how late a page reached Kafka.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client.parser import text_string_to_metric_families
from worker_harness import Topics, WorkerProcess

REPLICAS = 3
MIN_ISR = 2
LIVE_PREFIX = "LIVE-"
GOLD_P1 = timedelta(minutes=30)  # the default policy's gold P1 resolution target


def worker_env() -> dict[str, str]:
    """The cluster settings; the stall watchdog keeps its default (20 s): a partition starved
    behind another's backlog after a failover was the defect it covered, fixed since, and a
    worker waiting for a new leader's acks is not stalled."""
    return {
        "SLA_REPLICATION_FACTOR": str(REPLICAS),
        "SLA_MIN_INSYNC_REPLICAS": str(MIN_ISR),
    }


async def create_replicated_topics(bootstrap: str, topics: Topics, nodes: int = 3) -> None:
    """Input and alerts with 3 replicas and min ISR 2; partition p is led by node p % 3 + 1 on
    both, so one broker leads input and alerts partitions alike. The worker creates the DLQ and
    the changelog itself (from its settings)."""
    assignment = {
        p: [(p + i) % nodes + 1 for i in range(REPLICAS)] for p in range(topics.partitions)
    }
    common = {"min.insync.replicas": str(MIN_ISR)}
    events = {**common, "max.message.bytes": str(4 * 1024 * 1024)}
    alerts = {**common, "message.timestamp.type": "LogAppendTime"}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(topics.events, -1, -1, assignment, events),
                NewTopic(topics.alerts, -1, -1, assignment, alerts),
            ]
        )
    finally:
        await admin.close()


async def replication_of(bootstrap: str, names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """topic -> (fewest replicas of a partition, min.insync.replicas)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = {
            t["topic"]: min(len(p["replicas"]) for p in t["partitions"])
            for t in await admin.describe_topics(list(names))
            if t["error_code"] == 0 and t["partitions"]
        }
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, n, {"min.insync.replicas": None})
            for n in found
        ]
        isr: dict[str, int] = {}
        for response in await admin.describe_configs(resources):
            for resource in response.to_object()["resources"]:
                for entry in resource["config_entries"]:
                    isr[resource["resource_name"]] = int(entry["config_value"])
    finally:
        await admin.close()
    return {name: (replicas, isr.get(name, 0)) for name, replicas in found.items()}


def backlog_partition(key: bytes, partitions: int) -> int:
    """A fixed partition in 1..partitions-1 for a backlog ticket (partition 0 is for live ones)."""
    return 1 + zlib.crc32(key) % (partitions - 1)


def live_tickets(first_due: datetime, count: int, spacing: float = 1.0) -> list[bytes]:
    """Gold P1 tickets whose breach is due at `first_due`, then every `spacing` s."""
    values = []
    for i in range(count):
        due = first_due + timedelta(seconds=i * spacing)
        created = (due - GOLD_P1).isoformat().replace("+00:00", "Z")
        event = {
            "type": "ticket.created",
            "event_id": f"{LIVE_PREFIX}{i}-c",
            "ticket_id": f"{LIVE_PREFIX}{i}",
            "occurred_at": created,
            "customer_id": f"cust-live-{i}",
            "tier": "gold",
            "priority": 1,
            "timezone": "UTC",
        }
        values.append(json.dumps(event).encode())
    return values


async def produce_keyed(
    bootstrap: str,
    topic: str,
    values: list[bytes],
    keys: list[bytes],
    partitions: list[int | None] | None = None,
) -> list[int]:
    """Produce keyed records (acks=all, idempotent), to the given partitions or by key;
    returns each record's partition."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=30_000,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    try:
        chosen = partitions or [None] * len(values)
        pending = [
            await producer.send(topic, value, key=key, partition=partition)
            for value, key, partition in zip(values, keys, chosen, strict=True)
        ]
        return [meta.partition for meta in await asyncio.gather(*pending)]
    finally:
        await producer.stop()


PROCESSED = ("sla_events_total", "sla_invalid_events_total")
"""Counters of input records a worker has processed (its agent, not only its fetcher)."""


def group_progress(workers: Sequence[WorkerProcess]) -> tuple[dict[str, float], float]:
    """Input partition -> lag, over all running workers (each reports its own partitions),
    and the records the running workers have processed so far."""
    lags: dict[str, float] = {}
    processed = 0.0
    for worker in workers:
        try:
            status, body = worker.get("/metrics")
        except OSError:
            continue
        if status != 200:
            continue
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                if s.name == "sla_consumer_lag_records":
                    lags[s.labels["partition"]] = s.value
                elif s.name in PROCESSED:
                    processed += s.value
    return lags, processed


WATCHDOG_EXIT = 3
"""The worker's exit code when its stall watchdog gives up on a partition and asks its
supervisor for a restart (processor/worker/app.py); the tests act as that supervisor."""


def supervise(workers: Sequence[WorkerProcess]) -> int:
    """Restart the workers that exited with WATCHDOG_EXIT (as `restart: unless-stopped` would);
    any other exit is a failure. Returns how many were restarted."""
    restarted = 0
    for worker in workers:
        code = worker.proc.poll() if worker.proc is not None else None
        if code is None:
            continue
        assert code == WATCHDOG_EXIT, f"worker exited {code}:\n{worker.tail()}"
        worker.start()
        restarted += 1
    return restarted


def wait_group_caught_up(
    workers: Sequence[WorkerProcess], partitions: int, timeout: float = 240.0
) -> int:
    """Until the workers together own every input partition with at most the newest tick
    records unread, and have processed no input record more, QUIET polls in a row; returns the
    supervised restarts meanwhile. The lag counts records read from Kafka, and a worker holds
    up to thousands read but not yet processed (faust's stream buffer): the lag alone said
    "caught up" while the last owner of a partition was still working through its backlog."""
    deadline, streak, lags, restarts, before = time.monotonic() + timeout, 0, {}, 0, -1.0
    while time.monotonic() < deadline:
        restarts += supervise(workers)
        lags, processed = group_progress(workers)
        ok = len(lags) == partitions and all(v <= 2 for v in lags.values())
        streak = streak + 1 if ok and processed == before else 0
        before = processed
        if streak >= QUIET:
            return restarts
        time.sleep(1)
    tails = "\n".join(w.tail(20) for w in workers)
    raise AssertionError(f"workers not caught up after {timeout}s: lag {lags}\n{tails}")


QUIET = 3
"""Polls (1 s apart) with every partition caught up and no input record processed."""


@dataclass
class Delays:
    """Delays (s) of the live breaches: all, and those due inside the disturbance window."""

    all: list[float] = field(default_factory=list)
    window: list[float] = field(default_factory=list)

    def line(self, name: str) -> str:
        if not self.all:
            return f"{name}: no live breach received"
        worst = max(self.window) if self.window else float("nan")
        return (
            f"{name}: live breaches {len(self.all)}, alert delay median "
            f"{statistics.median(self.all):.2f} s, max {max(self.all):.2f} s; due during the "
            f"disturbance {len(self.window)}, max delay {worst:.2f} s"
        )


def live_delays(records: list[Any], window: tuple[datetime, datetime]) -> Delays:
    """Delays of the live tickets' breaches (first copy of each), from the alert records."""
    first: dict[str, tuple[float, datetime]] = {}
    for record in records:
        alert = json.loads(record.value)
        if alert["type"] != "sla.breached" or not alert["ticket_id"].startswith(LIVE_PREFIX):
            continue
        appended = record.timestamp / 1000.0
        known = first.get(alert["alert_id"])
        if known is None or appended < known[0]:
            due = datetime.fromisoformat(alert["due_at"].replace("Z", "+00:00"))
            first[alert["alert_id"]] = (appended, due)
    delays = Delays()
    for appended, due in first.values():
        delay = appended - due.timestamp()
        delays.all.append(delay)
        if window[0] <= due <= window[1]:
            delays.window.append(delay)
    return delays


def utc(seconds_from_now: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds_from_now)
