"""The real broker's side of the tests and benchmarks: topics, producing, offsets, reading."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devtools.workers import Topics

__all__ = [
    "OffsetWatch",
    "alerts_of",
    "caught_up",
    "committed",
    "create_topics",
    "delete_topics",
    "end_offsets",
    "load",
    "produce",
    "read_all",
    "wait_committed",
]


async def create_topics(bootstrap: str, topics: Topics) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        big = {"max.message.bytes": str(4 * 1024 * 1024)}
        await admin.create_topics(
            [
                NewTopic(topics.events, topics.partitions, 1, topic_configs=big),
                NewTopic(topics.alerts, topics.partitions, 1),
                NewTopic(topics.dlq, 1, 1, topic_configs=big),
            ]
        )
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: Topics) -> None:
    """Drop the run's topics (and the table changelog) so the broker's disk stays small."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [topics.events, topics.alerts, topics.dlq, f"{topics.app_id}-tickets-changelog"]
        existing = set(await admin.list_topics())
        await admin.delete_topics([n for n in names if n in existing])
    except Exception as exc:  # cleanup is best effort
        print(f"warning: could not delete topics: {exc}", file=sys.stderr)
    finally:
        await admin.close()


async def produce(
    bootstrap: str,
    topic: str,
    events: list[dict[str, Any] | bytes],
    keys: list[bytes | None] | None = None,
) -> dict[int, int]:
    """Produce events (dicts are JSON-encoded, keyed by ticket_id) and wait for the acks.

    Returns the offset of the last record written to each partition."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        max_request_size=8 * 1024 * 1024,
        linger_ms=5,
    )
    await producer.start()
    acks = []
    try:
        for i, event in enumerate(events):
            if isinstance(event, dict):
                value, key = json.dumps(event).encode(), event["ticket_id"].encode()
            else:
                value, key = event, None
            if keys is not None:
                key = keys[i]
            acks.append(await producer.send(topic, value, key=key))
        await producer.flush()
        last: dict[int, int] = {}
        for meta in await asyncio.gather(*acks):
            last[meta.partition] = max(last.get(meta.partition, -1), meta.offset)
        return last
    finally:
        await producer.stop()


async def load(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Produce (key, value) pairs in large batches; returns the count once all are acked."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    count = 0
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


class OffsetWatch:
    """Reads a consumer group's committed offsets (one admin client kept open)."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> OffsetWatch:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's committed offsets (next offset to read) on `topic`."""
        offsets = await self.admin.list_consumer_group_offsets(group)
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The consumer group's committed offsets (next offset to read) on `topic`."""
    async with OffsetWatch(bootstrap) as watch:
        return await watch.committed(group, topic)


def wait_committed(
    bootstrap: str, group: str, topic: str, last: dict[int, int], timeout: float = 240.0
) -> None:
    """Until the group has committed past `last` (partition -> offset) on every partition."""
    deadline = time.monotonic() + timeout
    done: dict[int, int] = {}
    while time.monotonic() < deadline:
        try:
            done = asyncio.run(committed(bootstrap, group, topic))
        except Exception:  # group coordinator moving during a broker restart: ask again
            done = {}
        if all(done.get(p, -1) > off for p, off in last.items()):
            return
        time.sleep(1)
    raise AssertionError(f"group {group} committed {done}, needs past {last} ({timeout}s)")


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {tp.partition: int(off) for tp, off in ends.items()}


def caught_up(committed: dict[int, int], ends: dict[int, int]) -> bool:
    return all(committed.get(p, -1) >= end for p, end in ends.items())


async def read_all(
    bootstrap: str,
    topic: str,
    *,
    until_count: int | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109 (a plain deadline loop)
    idle: float = 2.0,
) -> list[Any]:
    """Read a topic from the beginning until `until_count` records (or `idle` s of silence)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        parts = await _partitions(bootstrap, topic)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
                last = time.monotonic()
            if until_count is not None and len(records) >= until_count:
                break
            if until_count is None and time.monotonic() - last > idle:
                break
    finally:
        await consumer.stop()
    return records


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(50):
            described = await admin.describe_topics([topic])
            if described and described[0]["error_code"] == 0 and described[0]["partitions"]:
                count = len(described[0]["partitions"])
                return [TopicPartition(topic, p) for p in range(count)]
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    raise AssertionError(f"topic {topic} does not exist")


def alerts_of(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]
