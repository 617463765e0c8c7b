"""`sla-processor simulate` against the real broker: the topic holds exactly the --out file."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from click.testing import CliRunner

from processor.commands.simulate import simulate
from processor.domain.events import InvalidEvent, parse_event

pytestmark = pytest.mark.integration

PARTITIONS = 3
TICKET_ID = re.compile(r"^SIM-[0-9a-f]{8}-\d{6}$")
Record = tuple[int, bytes, bytes]  # partition, key, value (in offset order per partition)


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


async def _consume(bootstrap: str, topic: str, count: int) -> list[Record]:
    """`count` records from the start of `topic`, then one more poll that must find nothing."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        records: list[Record] = []
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                records.extend((r.partition, r.key, r.value) for r in batch)
        extra = await consumer.getmany(timeout_ms=1000)
        assert not any(extra.values()), "more records than the --out file has lines"
    finally:
        await consumer.stop()
    return records


def _is_subsequence(items: list[bytes], of: list[bytes]) -> bool:
    remaining = iter(of)
    return all(any(item == candidate for candidate in remaining) for item in items)


def _rejected(value: bytes) -> bool:
    try:
        parse_event(value)
    except InvalidEvent:
        return True
    return False


def _key_matches(key: bytes, value: bytes) -> bool:
    try:
        event = json.loads(value)
    except ValueError:  # the "not JSON" events: a truncated event that still names its ticket
        return key in value
    return bool(event["ticket_id"].encode() == key)


def test_topic_holds_exactly_the_out_file_keyed_by_ticket(
    kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    topic, out = unique_name("ev"), tmp_path / "events.jsonl"
    asyncio.run(_create_topic(kafka_bootstrap, topic))
    args = ["--fast", "--tickets", "200", "--seed", "7", "--out", str(out)]
    result = CliRunner().invoke(
        simulate, [*args, "--bootstrap-servers", kafka_bootstrap, "--topic", topic]
    )
    assert result.exit_code == 0, result.output
    assert "done: " in result.stderr and "200 tickets" in result.stderr

    lines = out.read_bytes().splitlines()
    assert max(Counter(lines).values()) == 2, "seed 7 sends some events twice"
    assert any(_rejected(line) for line in lines), "seed 7 sends some malformed events"
    records = asyncio.run(asyncio.wait_for(_consume(kafka_bootstrap, topic, len(lines)), 60))

    assert Counter(value for _, _, value in records) == Counter(lines)
    assert {partition for partition, _, _ in records} == set(range(PARTITIONS))
    for partition in range(PARTITIONS):  # produce order is kept within each partition
        values = [value for p, _, value in records if p == partition]
        assert _is_subsequence(values, lines)
    assert all(TICKET_ID.match(key.decode()) for _, key, _ in records)
    assert all(_key_matches(key, value) for _, key, value in records)
    assert len({key for _, key, _ in records}) == 200
