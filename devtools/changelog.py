"""Open tickets written straight into a worker's ticket-table changelog, as the worker writes
them: faster than feeding the events through a worker (1M tickets in ~20 s instead of hours)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.partitioner import murmur2

from devtools.workers import Topics
from processor.domain.events import parse_event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy
from processor.topicspec import TABLE_NAME
from processor.worker.rows import encode_row
from processor.worker.table_store import klass_of

__all__ = ["changelog_topic", "created", "fill_changelog", "partition_of", "ticket_rows"]


def partition_of(key: bytes, partitions: int) -> int:
    """aiokafka's (and Kafka's) default partitioner: murmur2 of the key."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def changelog_topic(topics: Topics) -> str:
    return f"{topics.app_id}-{TABLE_NAME}-changelog"


def created(tid: str, at: datetime, tier: str = "gold", priority: int = 4) -> bytes:
    body = {
        "type": "ticket.created",
        "event_id": f"{tid}-c",
        "ticket_id": tid,
        "occurred_at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "customer_id": "bench",
        "tier": tier,
        "priority": priority,
        "timezone": "UTC",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def ticket_rows(
    n: int, partitions: int, at: datetime, prefix: str = "S-"
) -> Iterator[tuple[int, bytes, bytes]]:
    """(partition, key, row) of N open tickets created at `at` (gold P4), from one real state
    with the ids substituted."""
    sla = SlaMachine(default_policy())
    state, _ = sla.apply(None, parse_event(created("@TID@", at)), at, horizon=at)
    template = encode_row(0, sla.next_due(state), klass_of(state), state).decode()
    head, body = template.split(" ", 1)
    assert head == "0"
    for i in range(n):
        tid = f"{prefix}{i}"
        key = tid.encode()
        p = partition_of(key, partitions)
        yield p, key, f"{p} {body.replace('@TID@', tid)}".encode()


async def fill_changelog(
    server: str, topics: Topics, n: int, at: datetime, prefix: str = "S-"
) -> None:
    """Create the changelog topic (compacted) and write N open tickets into it."""
    name = changelog_topic(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=server)
    await admin.start()
    try:
        config = {"cleanup.policy": "compact"}
        await admin.create_topics([NewTopic(name, topics.partitions, 1, topic_configs=config)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=server, acks=1, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        pending = []
        for p, key, row in ticket_rows(n, topics.partitions, at, prefix):
            pending.append(await producer.send(name, row, key=key, partition=p))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
