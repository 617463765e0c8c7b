"""`FairConsumer`: faust's aiokafka consumer, serving fetched partitions in turn and handing the
streams each input partition's records in order from its last seek (`OffsetFence`).

`FairConsumer` (installed by `install_fair_consumer`) rotates aiokafka's held fetch results so
that each call serves the next partition first (see `rotate_held`); `fetch_state` describes a
partition's fetch state for the stall log. It also hands the streams each input partition's
records in order from its last seek (see `OffsetFence`): faust committed past records it had
skipped after a rebalance.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Set
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer

from processor.worker.faust_compat.fence import OffsetFence
from processor.worker.faust_compat.private import missing, private

__all__ = ["FairConsumer", "arrived", "fetch_state", "install_fair_consumer", "rotate_held"]


def fetch_state(consumer: Any, tp: Any) -> str:
    """One line on why `tp` may not be read, for the stall log: faust's view (active, buffered
    by flow control) and aiokafka's (position, leader in its metadata, records held)."""
    parts = [
        f"active={tp in (getattr(consumer, '_active_partitions', None) or ())}",
        f"buffered={tp in getattr(consumer, '_buffered_partitions', ())}",
    ]
    try:
        inner = consumer._thread._consumer
        fetcher = inner._fetcher
        state = inner._subscription.subscription.assignment.state_value(tp)
        leader = inner._client.cluster.leader_for_partition(tp)
        parts += [
            f"position={state.position if state.has_valid_position else None}",
            f"paused={state.paused}",
            f"leader={leader}",
            f"held={tp in fetcher._records}",
            f"in_flight={sorted(fetcher._in_flight)}",
        ]
    except Exception as exc:  # diagnostics only: never fail the watchdog
        parts.append(f"aiokafka state unknown ({type(exc).__name__})")
    return " ".join(parts)


def rotate_held(held: Any) -> None:
    """Move the first partition of aiokafka's fetched-but-undelivered records to the end.

    aiokafka's `Fetcher.fetched_records(max_records=M)` takes up to M records from its held
    fetch results in insertion order and stops: a partition whose fetch result is large (up to
    `consumer_max_fetch_size`, a backlog after a failover) is at the head on every call, and
    the partitions behind it get nothing until it is used up (input partition 0 read nothing
    for 30 s after its leader was killed while partition 3's backlog was drained). Rotating
    the head before each call serves the partitions in turn, M records each."""
    if isinstance(held, OrderedDict) and len(held) > 1:
        held.move_to_end(next(iter(held)))


class _FairConsumerThread(AIOKafkaConsumerThread):
    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: Any,
        timeout: float | None = None,  # noqa: ASYNC109 (faust's signature)
        max_records: int | None = None,
    ) -> Any:
        rotate_held(private(consumer._fetcher, "_records"))  # in the consumer's own thread
        return await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )


class FairConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, delivering held records of the partitions in turn, and only
    records that follow on from the last seek of their partition (see `OffsetFence`)."""

    _fence: OffsetFence

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._delivering: Any = None  # the message whose delivery runs
        self._deliver = self.callback  # faust's: the conductor puts the record in the queues

        async def callback(message: Any) -> None:
            if self._fence.withdrawn(message.tp, message.offset):
                return  # its partition was rewound or seeked meanwhile: it comes again
            self._delivering = message
            try:
                await self._deliver(message)  # waits while the stream's queue is full
            finally:
                self._delivering = None

        self.callback = callback
        self._watch_clears()

    def _watch_clears(self) -> None:
        """When flow control clears the stream queues (as it resumes, at the end of a
        recovery), rewind the fence to the first input record cleared of each partition: those
        were admitted, never reached a stream, and must be read again (`OffsetFence.rewind`)."""
        flow: Any = self.app.flow_control
        queues = private(flow, "_queues")
        clear = flow.clear

        def clearing() -> None:
            first = self._queued(queues)
            clear()
            fence = self._fence
            for tp, offset in first.items():
                if fence.rewind(tp, offset):
                    self.log.warning(
                        "records of %s from %s were cleared before a stream took them: "
                        "reading them again",
                        tp,
                        offset,
                    )
            waiting = self._delivering  # its put into a full queue was waiting
            if waiting is not None and self._fenced(waiting.tp):
                tp, offset = waiting.tp, int(waiting.offset)
                fence.rewind(tp, offset)  # a put the clear cancelled: it must come again
                again = fence.expected.get(tp)
                if again is not None and again < offset:  # a put that resumes lands ahead
                    fence.doom(tp, offset, again)

        flow.clear = clearing

    def _queued(self, queues: Any) -> dict[Any, int]:
        """The first offset of each input partition among the records the queues hold."""
        first: dict[Any, int] = {}
        for queue in list(queues):
            for item in list(private(queue, "_queue")):  # asyncio.Queue's deque of events
                message: Any = getattr(item, "message", None)
                tp = getattr(message, "tp", None)
                if tp is None or not self._fenced(tp):
                    continue
                offset = int(message.offset)
                if offset < first.get(tp, offset + 1):
                    first[tp] = offset
        return first

    def _new_consumer_thread(self) -> Any:
        self._fence = OffsetFence()
        return _FairConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _fenced(self, tp: Any) -> bool:
        return not self._is_changelog_tp(tp)  # compacted: holes are normal there

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """faust's seek to the committed offsets, then, for each fenced partition with none
        (a new group, or a partition whose first owner never committed), an explicit seek to
        where the reset policy starts it: aiokafka seeks only to an offset > 0 and the fence
        would not know where the partition reads from, so records flow control cleared right
        after this seek (the end of every recovery) were never read again and the next commit
        went past them (CI: a worker lost the first events of the two partitions it had held
        since the group's first generation)."""
        offsets = await super().seek_to_committed()
        fenced = {tp: offset for tp, offset in offsets.items() if self._fenced(tp)}
        starts = await self._reset_positions([tp for tp, o in fenced.items() if not o or o < 0])
        for tp, offset in fenced.items():  # first: aiokafka has sought these already
            if tp not in starts:
                self._fence.seeked(tp, offset if offset and offset > 0 else None)
        if starts:
            await self.seek_wait(starts)  # tells the fence
        return offsets

    async def _reset_positions(self, tps: list[Any]) -> dict[Any, int]:
        """Where the consumer reads `tps` from with nothing committed: their log start under
        the `earliest` reset policy (the worker's); unknown (left out) under another."""
        if not tps or self.app.conf.consumer_auto_offset_reset != "earliest":
            return {}
        try:
            found = await self.earliest_offsets(*tps)
        except Exception as exc:  # the broker did not answer: as before, position unknown
            self.log.warning(
                "no log start offsets for %s (%s: %s): their position stays unknown to the "
                "fence until a record arrives",
                sorted(tps),
                type(exc).__name__,
                exc,
            )
            return {}
        return {tp: int(o) for tp, o in found.items() if o is not None and o >= 0}  # -1: unknown

    async def seek(self, partition: Any, offset: int) -> None:
        await super().seek(partition, offset)
        if self._fenced(partition):
            self._fence.seeked(partition, offset)

    async def seek_wait(self, partitions: Mapping[Any, int]) -> None:
        await super().seek_wait(partitions)
        for tp, offset in partitions.items():
            if self._fenced(tp):
                self._fence.seeked(tp, offset)

    async def on_partitions_revoked(self, revoked: Set[Any]) -> None:
        for tp in revoked:
            self._fence.forget(tp)
        await super().on_partitions_revoked(revoked)

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        since = dict(self._fence.epochs)
        records = dict(await super()._getmany(active_partitions, timeout))
        for tp in [tp for tp, batch in records.items() if self._stale(tp, batch, since)]:
            batch = records.pop(tp)
            self.log.warning(
                "dropped records %s-%s of %s: fetched before its seek to %s",
                batch[0].offset,
                batch[-1].offset,
                tp,
                self._fence.expected.get(tp),
            )
        return records

    def _stale(self, tp: Any, batch: Any, since: Mapping[Any, int]) -> bool:
        return self._fenced(tp) and self._fence.drop_batch(tp, batch[0].offset, since)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109
        rewound: set[Any] = set()
        async for tp, message in super().getmany(timeout):
            if not self._fenced(tp):
                yield tp, message
                continue
            if tp in rewound:
                continue  # the rest of a batch after a hole: fetched again after the seek
            verdict = self._fence.admit(tp, message.offset)
            if verdict is True:
                reads = private(self, "_read_offset")
                if (reads.get(tp) or -1) > message.offset:  # stale: faust would drop it
                    reads[tp] = message.offset
                self._fence.handing(tp, message.offset)
                yield tp, message
            elif verdict is not False:
                self.log.warning(
                    "record %s of %s does not follow on from %s: seek back",
                    message.offset,
                    tp,
                    verdict,
                )
                rewound.add(tp)
                await self.seek_wait({tp: int(verdict)})  # in the consumer's thread


def arrived(app: faust.App, message: Any) -> bool:
    """Is `message`, just taken by the agent, in order? False for a record the fence doomed
    (it came out of order after flow control cleared the queues; its copy comes again)."""
    fence = getattr(app.consumer, "_fence", None)
    if fence is None or fence.arrived(message.tp, message.offset):
        return True
    # Marked acked so that faust's ack of the batch leaves its offset out: the copy that comes
    # again in order is what acks it (faust commits an offset only once it and all before it
    # are acked).
    message.acked = True
    return False


def install_fair_consumer(app: faust.App) -> None:
    """Make the app's consumer a `FairConsumer` (call before the app starts); it needs
    `broker_max_poll_records` set, or every call drains everything held anyway."""
    transport: Any = app.transport
    if not issubclass(FairConsumer, transport.Consumer):
        raise missing("Consumer", f"transport {type(transport).__qualname__} (aiokafka)")
    transport.Consumer = FairConsumer
