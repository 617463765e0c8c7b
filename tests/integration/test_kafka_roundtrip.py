"""Real-broker round trip: produce keyed records, commit part way, resume in the same group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from processor.localkafka import LocalKafka

pytestmark = pytest.mark.integration

RECORDS = 1000
FIRST_READ = 600
PARTITIONS = 3
Read = dict[tuple[int, int], str]  # (partition, offset) -> key


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str) -> Read:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        keys = [f"ticket-{i:04d}" for i in range(RECORDS)]
        sends = [await producer.send(topic, key=k.encode(), value=b"v-" + k.encode()) for k in keys]
        results = await asyncio.gather(*sends)
    finally:
        await producer.stop()
    return {(meta.partition, meta.offset): key for meta, key in zip(results, keys, strict=True)}


def _consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=50,
    )


async def _read(consumer: AIOKafkaConsumer, count: int) -> Read:
    """Exactly ``count`` records, one at a time, as a processing loop would see them."""
    read: Read = {}
    while len(read) < count:
        record = await consumer.getone()
        read[(record.partition, record.offset)] = record.key.decode()
    return read


def _next_offsets(read: Read) -> dict[int, int]:
    result: dict[int, int] = {}
    for partition, offset in read:
        result[partition] = max(result.get(partition, 0), offset + 1)
    return result


async def _first_consumer(bootstrap: str, topic: str, group: str) -> tuple[Read, dict[int, int]]:
    consumer = _consumer(bootstrap, topic, group)
    await consumer.start()
    try:
        read = await _read(consumer, FIRST_READ)
        committed = _next_offsets(read)
        await consumer.commit({TopicPartition(topic, p): o for p, o in committed.items()})
    finally:
        await consumer.stop()
    return read, committed


async def _second_consumer(bootstrap: str, topic: str, group: str) -> tuple[Read, dict[int, int]]:
    consumer = _consumer(bootstrap, topic, group)
    await consumer.start()
    try:
        read = await _read(consumer, RECORDS - FIRST_READ)
        leftovers = await consumer.getmany(timeout_ms=1000)  # nothing may be re-read
        assert not any(leftovers.values()), f"unexpected extra records: {leftovers}"
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        committed = {tp.partition: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()
    return read, committed


async def test_resume_from_committed_offsets(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    topic, group = unique_name("roundtrip"), unique_name("group")
    async with asyncio.timeout(90):
        await _create_topic(kafka_bootstrap, topic)
        produced = await _produce(kafka_bootstrap, topic)
        first, committed = await _first_consumer(kafka_bootstrap, topic, group)
        second, _ = await _second_consumer(kafka_bootstrap, topic, group)

    assert len(produced) == RECORDS
    assert {p for p, _ in produced} == set(range(PARTITIONS)), "keys should spread over partitions"
    assert not first.keys() & second.keys(), "records re-read after the commit"
    assert first | second == produced, "records lost or changed between the two consumers"
    for partition in range(PARTITIONS):
        resumed = [o for p, o in second if p == partition]
        if resumed:  # the second consumer starts exactly at the committed offset
            assert min(resumed) == committed.get(partition, 0)


def test_local_broker_reports_running(local_kafka: LocalKafka | None) -> None:
    if local_kafka is None:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS points at an external broker")
    status = local_kafka.status()
    assert status.running and status.ready and status.pid
    assert status.bootstrap == local_kafka.bootstrap
    assert local_kafka.start() is False  # already running: no second broker
