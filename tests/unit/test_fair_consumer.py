"""`faust_compat.FairConsumer`: aiokafka's held fetch results are served in turn.

aiokafka's `Fetcher.fetched_records(max_records=M)` walks its held results (an OrderedDict, one
per partition) from the head and stops after M records, so a partition behind a large result
got nothing until that one was used up. The fair consumer rotates the head before each call.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.client import AIOKafkaClient
from aiokafka.consumer.fetcher import Fetcher, FetchResult, PartitionRecords
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition
from faust.types import TP

from processor.settings import Settings
from processor.worker.app import POLL_RECORDS, create_app
from processor.worker.faust_compat import FairConsumer, arrived, rotate_held


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


@contextmanager
def _worker_consumer(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """The worker app's consumer (not started) and the app; its thread's loop closed after."""
    sla = create_app(Settings(store="memory://", data_dir=tmp_path))
    consumer: Any = sla.faust.consumer
    try:
        yield sla.faust, consumer
    finally:
        consumer._thread.thread_loop.close()


def _queued(tp: Any, offset: int) -> Any:
    """What the conductor puts in a stream's queue: an event with its message."""
    return SimpleNamespace(message=SimpleNamespace(tp=tp, offset=offset))


async def test_records_cleared_from_the_stream_queues_are_read_again(tmp_path: Path) -> None:
    """faust's flow control clears every stream queue when it resumes (the end of a recovery);
    records the fence had admitted were lost. The consumer rewinds the fence to the first
    record cleared of each input partition, so the next record asks for a seek back."""
    with _worker_consumer(tmp_path) as (app, consumer):
        fence = consumer._fence
        queue = app.FlowControlQueue(maxsize=100, clear_on_resume=True)
        tp, other = TP("sla-events", 1), TP("sla-events", 2)
        fence.seeked(tp, 100)
        fence.seeked(other, 7)
        for offset in (100, 101, 102):
            assert fence.admit(tp, offset) is True
            queue.put_nowait(_queued(tp, offset))
        assert fence.admit(other, 7) is True  # taken by the stream before the clear
        app.flow_control.resume()
        assert queue.qsize() == 0
        assert fence.expected == {tp: 100, other: 8}
        assert fence.admit(tp, 103) == 100


async def test_a_record_withdrawn_on_its_way_does_not_reach_the_streams(tmp_path: Path) -> None:
    delivered: list[int] = []

    async def deliver(message: Any) -> None:
        delivered.append(message.offset)

    with _worker_consumer(tmp_path) as (_, consumer):
        consumer._deliver = deliver
        tp = TP("sla-events", 0)
        fence = consumer._fence
        fence.seeked(tp, 10)
        for offset in (10, 11):
            assert fence.admit(tp, offset) is True
            fence.handing(tp, offset)
            if offset == 11:
                fence.rewind(tp, 10)  # 10 was cleared while 11 was on its way
            await consumer.callback(SimpleNamespace(tp=tp, offset=offset))
    assert delivered == [10]


@pytest.mark.parametrize("woken", [True, False], ids=["put-resumes", "put-cancelled"])
async def test_a_put_waiting_for_room_when_the_queue_is_cleared_is_kept_in_order(
    tmp_path: Path, woken: bool
) -> None:
    """The stream queue was full (100-102): the delivery of 103 waited for room when flow
    control cleared the queue. If the stream had just taken 100, the put was woken and lands
    after the clear, ahead of 101-102 (which come again): it is dropped at the agent. If not,
    the clear cancelled it and 103 comes again. Either way the agent gets 100-104 in order."""
    with _worker_consumer(tmp_path) as (app, consumer):
        queue = app.FlowControlQueue(maxsize=3, clear_on_resume=True)
        fence, tp = consumer._fence, TP("sla-events", 1)

        async def deliver(message: Any) -> None:
            await queue.put(_queued(message.tp, message.offset))

        consumer._deliver = deliver
        app.flow_control.resume()  # as when the worker runs (puts wait while it is suspended)
        fence.seeked(tp, 100)
        for offset in (100, 101, 102, 103):
            assert fence.admit(tp, offset) is True
            fence.handing(tp, offset)
            if offset < 103:
                await consumer.callback(SimpleNamespace(tp=tp, offset=offset))
        waiting = asyncio.ensure_future(consumer.callback(SimpleNamespace(tp=tp, offset=103)))
        await asyncio.sleep(0)  # its put waits: the queue is full
        taken = [queue.get_nowait().message.offset] if woken else []
        app.flow_control.resume()
        await asyncio.gather(waiting, return_exceptions=True)
        landed = [item.message.offset for item in list(queue._queue)]
        assert landed == ([103] if woken else [])
        assert fence.admit(tp, 104) == (101 if woken else 100)  # the fetch goes on: seek back
        fence.seeked(tp, 101 if woken else 100)
        again = [o for o in range(100, 105) if fence.admit(tp, o) is True]
        agent = [o for o in taken + landed + again if fence.arrived(tp, o)]
    assert agent == [100, 101, 102, 103, 104]


async def test_a_put_the_clear_cancelled_is_read_again_when_nothing_else_of_it_was_queued(
    tmp_path: Path,
) -> None:
    """The full queue held another partition's record only: the cancelled delivery of 50 is
    the one record of its partition to read again."""
    with _worker_consumer(tmp_path) as (app, consumer):
        queue = app.FlowControlQueue(maxsize=1, clear_on_resume=True)
        fence, tp, other = consumer._fence, TP("sla-events", 1), TP("sla-events", 2)

        async def deliver(message: Any) -> None:
            await queue.put(_queued(message.tp, message.offset))

        consumer._deliver = deliver
        app.flow_control.resume()
        queue.put_nowait(_queued(other, 7))
        fence.seeked(tp, 50)
        assert fence.admit(tp, 50) is True
        fence.handing(tp, 50)
        waiting = asyncio.ensure_future(consumer.callback(SimpleNamespace(tp=tp, offset=50)))
        await asyncio.sleep(0)
        app.flow_control.resume()
        await asyncio.gather(waiting, return_exceptions=True)
        assert queue.qsize() == 0
        assert fence.expected[tp] == 50
        assert fence.admit(tp, 51) == 50


def test_a_doomed_record_is_dropped_at_the_agent_and_left_out_of_faust_acks(
    tmp_path: Path,
) -> None:
    with _worker_consumer(tmp_path) as (app, consumer):
        tp = TP("sla-events", 3)
        consumer._fence.doom(tp, 5, 3)
        ahead = SimpleNamespace(tp=tp, offset=5, acked=False)
        assert not arrived(app, ahead)
        assert ahead.acked  # faust's ack of the batch skips it: its copy in order acks it
        first = SimpleNamespace(tp=tp, offset=3, acked=False)
        assert arrived(app, first) and not first.acked


async def _refuse(*args: Any) -> Any:
    raise AssertionError("no seek or offset lookup expected")


def _broker(
    monkeypatch: pytest.MonkeyPatch,
    consumer: Any,
    committed: dict[Any, int | None],
    earliest: Callable[..., Awaitable[Any]] = _refuse,
    seek_wait: Callable[..., Awaitable[Any]] = _refuse,
) -> None:
    """The consumer thread's broker calls, answered by the test: `committed` as the committed
    offsets aiokafka found, `earliest` for the log starts, `seek_wait` for a seek."""

    async def seek_to_committed() -> dict[Any, int | None]:
        return dict(committed)

    monkeypatch.setattr(consumer._thread, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer._thread, "earliest_offsets", earliest)
    monkeypatch.setattr(consumer._thread, "seek_wait", seek_wait)


@pytest.mark.parametrize("committed", [None, 0], ids=["nothing-committed", "committed-0"])
async def test_a_partition_with_nothing_committed_is_sought_to_its_log_start_and_fenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, committed: int | None
) -> None:
    """The CI failure (two workers, one stops; its own tickets survived, the other's were
    lost): faust's `on_recovery_completed` resumes the input partitions, seeks them to the
    committed offsets, then resumes flow control, which clears the stream queues. Records of a
    partition nothing was ever committed for, fetched between the resume and the clear, were
    cleared; aiokafka makes no seek for such a partition, so the fence did not know where it
    reads from, accepted the next record, and faust committed past the cleared events. Now the
    partition is sought to its log start (the worker's `earliest` reset), and the record after
    the cleared ones asks for a seek back there."""
    with _worker_consumer(tmp_path) as (app, consumer):
        tp, kept, changelog = TP("sla-events", 2), TP("sla-events", 3), TP("x-changelog", 2)
        sought: dict[Any, int] = {}

        async def earliest_offsets(*tps: Any) -> dict[Any, int]:
            return dict.fromkeys(tps, 0)

        async def seek_wait(partitions: dict[Any, int]) -> None:
            sought.update(partitions)

        committed_at = {tp: committed, kept: 40, changelog: None}
        _broker(monkeypatch, consumer, committed_at, earliest_offsets, seek_wait)
        monkeypatch.setattr(consumer, "_is_changelog_tp", lambda t: t == changelog)
        fence = consumer._fence
        queue = app.FlowControlQueue(maxsize=100, clear_on_resume=True)
        for offset in (5, 6):  # fetched once the partition resumed, queued before the clear
            assert fence.admit(tp, offset) is True
            queue.put_nowait(_queued(tp, offset))
        assert await consumer.seek_to_committed() == {tp: committed, kept: 40, changelog: None}
        assert sought == {tp: 0}  # the changelog partition is not fenced: left alone
        app.flow_control.resume()
        assert queue.qsize() == 0
        assert fence.admit(tp, 10) == 0  # the fetch went on after the cleared records
        assert fence.expected[kept] == 40
        assert [fence.admit(tp, o) for o in range(3)] == [True, True, True]


@pytest.mark.filterwarnings("ignore::faust.exceptions.AlreadyConfiguredWarning")
async def test_with_another_reset_policy_a_partition_with_nothing_committed_is_not_sought(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _worker_consumer(tmp_path) as (app, consumer):
        tp = TP("sla-events", 0)
        _broker(monkeypatch, consumer, {tp: None})
        monkeypatch.setattr(app.conf, "consumer_auto_offset_reset", "latest")
        await consumer.seek_to_committed()
        assert consumer._fence.admit(tp, 7) is True  # position unknown: the next record


async def test_when_the_log_start_lookup_fails_the_position_stays_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker that does not answer the lookup does not stop the recovery: the partition is
    left as aiokafka leaves it (not sought), its position unknown to the fence."""
    with _worker_consumer(tmp_path) as (_, consumer):
        tp = TP("sla-events", 0)

        async def earliest_offsets(*tps: Any) -> Any:
            raise TimeoutError("no answer")

        _broker(monkeypatch, consumer, {tp: None}, earliest_offsets)
        assert await consumer.seek_to_committed() == {tp: None}
        assert consumer._fence.admit(tp, 7) is True


async def test_an_unknown_log_start_is_not_sought_and_a_failed_seek_leaves_the_rest_fenced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker may answer -1 (unknown) for a log start: that partition is not sought. A seek
    that raises (the partition revoked meanwhile) leaves the partitions aiokafka had already
    sought to their committed offsets known to the fence."""
    with _worker_consumer(tmp_path) as (_, consumer):
        unknown, fresh, kept = TP("sla-events", 0), TP("sla-events", 1), TP("sla-events", 2)

        async def earliest_offsets(*tps: Any) -> dict[Any, int]:
            return {unknown: -1, fresh: 4}

        async def seek_wait(partitions: dict[Any, int]) -> None:
            assert partitions == {fresh: 4}
            raise RuntimeError("IllegalStateError: not assigned")

        committed = {unknown: None, fresh: None, kept: 30}
        _broker(monkeypatch, consumer, committed, earliest_offsets, seek_wait)
        with pytest.raises(RuntimeError):
            await consumer.seek_to_committed()
        assert consumer._fence.expected == {kept: 30}
