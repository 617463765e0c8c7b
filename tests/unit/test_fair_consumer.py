"""`faust_compat.FairConsumer`: aiokafka's held fetch results are served in turn.

aiokafka's `Fetcher.fetched_records(max_records=M)` walks its held results (an OrderedDict, one
per partition) from the head and stops after M records, so a partition behind a large result
got nothing until that one was used up. The fair consumer rotates the head before each call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiokafka.client import AIOKafkaClient
from aiokafka.consumer.fetcher import Fetcher, FetchResult, PartitionRecords
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from processor.settings import Settings
from processor.worker.app import POLL_RECORDS, create_app
from processor.worker.faust_compat import FairConsumer, rotate_held


@asynccontextmanager
async def _fetcher_holding(sizes: dict[int, int]) -> AsyncIterator[Fetcher]:
    """A real aiokafka Fetcher (no broker: nothing is fetched) whose held results are
    `sizes[partition]` records of each partition, the first one first."""
    client = AIOKafkaClient(bootstrap_servers="127.0.0.1:1")
    subscriptions = SubscriptionState()
    tps = [TopicPartition("in", p) for p in sizes]
    subscriptions.assign_from_user(tps)
    assignment = subscriptions.subscription.assignment
    fetcher = Fetcher(client, subscriptions)
    for tp in tps:
        assignment.state_value(tp).seek(0)
        builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 22)
        for offset in range(sizes[tp.partition]):
            builder.append(offset, timestamp=None, key=None, value=b"v", headers=[])
        records = PartitionRecords(
            tp, MemoryRecords(bytes(builder.build())), [], 0, None, None, False, 0
        )
        fetcher._records[tp] = FetchResult(
            tp, assignment=assignment, partition_records=records, backoff=0
        )
    try:
        yield fetcher
    finally:
        await fetcher.close()


async def _served(fetcher: Fetcher, calls: int, fair: bool) -> list[set[int]]:
    out = []
    for _ in range(calls):
        if fair:
            rotate_held(fetcher._records)
        got = await fetcher.fetched_records(
            set(fetcher._subscriptions.assigned_partitions()), max_records=200
        )
        out.append({tp.partition for tp in got})
    return out


async def test_without_rotation_a_large_head_starves_the_partitions_behind_it() -> None:
    async with _fetcher_holding({3: 5000, 0: 3}) as fetcher:
        assert await _served(fetcher, 10, fair=False) == [{3}] * 10


async def test_rotation_serves_every_held_partition_within_a_turn() -> None:
    async with _fetcher_holding({3: 5000, 1: 5000, 0: 3}) as fetcher:
        served = await _served(fetcher, 3, fair=True)
    assert set().union(*served) == {0, 1, 3}


def test_rotate_held_leaves_one_or_no_partition_alone() -> None:
    one: OrderedDict[int, list[int]] = OrderedDict([(0, [1])])
    rotate_held(one)
    rotate_held(OrderedDict())
    assert list(one) == [0]


def test_the_worker_app_uses_the_fair_consumer_with_bounded_polls(tmp_path: Path) -> None:
    sla = create_app(Settings(store="memory://", data_dir=tmp_path))
    assert sla.faust.transport.Consumer is FairConsumer
    assert sla.faust.conf.broker_max_poll_records == POLL_RECORDS
