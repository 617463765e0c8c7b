"""One target's consumer group on the alerts topic: read, turn into page changes, deliver, commit.

At least once: offsets are committed only after the target accepted every change before them,
so a kill -9 repeats at most the uncommitted tail (the targets dedupe: Alertmanager by labels,
PagerDuty by `dedup_key`). The batch held for delivery is bounded (`paging_batch` records) and
nothing more is read while it is retried, so a slow or dead target holds back only its own group.
Records of one partition are handled in offset order, and a ticket's alerts share a partition, so
within an incident a resolve never overtakes its trigger. On assignment, the open pages of each
partition are rebuilt by reading it from the start up to the group's committed offset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError

from processor.domain.alerts import Alert
from processor.kafka.client import client_kwargs
from processor.paging.incidents import Change, IncidentBook
from processor.paging.metrics import PagingMetrics
from processor.settings import PagingSettings, PagingTarget, Settings

__all__ = ["Forwarder", "Target", "decode_alert"]

log = logging.getLogger("processor.paging")


class Target(Protocol):
    name: PagingTarget

    async def deliver(self, changes: list[Change], catch_up: bool) -> None: ...

    async def tick(self, book: IncidentBook) -> None: ...


def decode_alert(raw: bytes | None) -> Alert | str:
    """The alert, or a one-line reason it is poison."""
    if raw is None:
        return "empty record"
    try:
        return Alert.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        return f"{where}: {first['msg']}"


class Forwarder:
    def __init__(
        self,
        settings: Settings,
        paging: PagingSettings,
        target: Target,
        metrics: PagingMetrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.paging, self.target = settings, paging, target
        self.metrics, self.clock = metrics, clock
        self.name = target.name
        self.topic = settings.alerts_topic
        self.book = IncidentBook(paging.route(target.name))
        self.assigned = asyncio.Event()
        # End offsets at assignment: until the consumer is past them, the book may be behind
        # what was delivered before a crash, so the firing set is not re-posted yet (re-posting
        # a page the uncommitted tail had already ended would fire it again).
        self.tail_ends: dict[TopicPartition, int] = {}
        # Partitions assigned and not rebuilt yet. The rebuild runs in the consume loop, not in
        # the rebalance callback: aiokafka may hand out records of a new assignment while its
        # callback still runs, and applying those before the older history would leave the
        # book behind the target.
        self.to_rebuild: set[TopicPartition] = set()
        # Right after a rebuild, the first records after the committed offsets may already have
        # been delivered by the instance that died. They are held until every partition has
        # `paging_batch` of them (or its tail end) and delivered as one catch-up window, so a
        # page the dead instance had already ended is not posted firing again on the way.
        self.fresh = False
        self.held: dict[TopicPartition, list[Any]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            group_id=self.paging.group_id(self.name),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=int(self.paging.paging_max_poll_interval * 1000),
            **client_kwargs(self.settings),
        )
        consumer.subscribe([self.topic], listener=_Rebuild(self))
        self.metrics.last_commit.labels(self.name).set(time.time())  # "stuck since" starts now
        try:
            await consumer.start()
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=self.paging.paging_batch)
                if self.to_rebuild:
                    await self._rebuild(consumer)
                for tp, records in batch.items():
                    self.held.setdefault(tp, []).extend(records)
                if self.held and await self._window_complete(consumer):
                    held, self.held = self.held, {}
                    await self._handle(consumer, held, catch_up=self.fresh)
                    self.fresh = False
                await self._measure_lag(consumer)
                if await self._past_tail(consumer):
                    await self.target.tick(self.book)
        finally:
            await consumer.stop()

    async def _window_complete(self, consumer: AIOKafkaConsumer) -> bool:
        if not self.fresh:
            return True
        for tp, end in self.tail_ends.items():
            held = len(self.held.get(tp, ()))
            if held < self.paging.paging_batch and await consumer.position(tp) < end:
                return False
        return True

    async def _handle(
        self, consumer: AIOKafkaConsumer, batch: dict[Any, list[Any]], catch_up: bool
    ) -> None:
        changes: list[Change] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batch.items():
            for record in records:
                changes.extend(self._apply(tp.partition, record))
            offsets[tp] = records[-1].offset + 1
            log.debug("%s: partition %d offsets %d..%d", self.name, tp.partition,
                      records[0].offset, records[-1].offset)  # fmt: skip
        self.metrics.queue_depth.labels(self.name).set(len(changes))
        self.metrics.firing.labels(self.name).set(len(self.book))
        if changes:
            if log.isEnabledFor(logging.DEBUG):
                for c in changes:
                    log.debug("%s: %s %s %s", self.name, c.action, c.page.routing, c.page.key)
            await self.target.deliver(changes, catch_up)
            self._count(changes)
        self.metrics.queue_depth.labels(self.name).set(0)
        await self._commit(consumer, offsets)

    def _apply(self, partition: int, record: Any) -> list[Change]:
        alert = decode_alert(record.value)
        if isinstance(alert, str):
            self.metrics.failed.labels(self.name, "poison").inc()
            log.warning(
                "%s: skipped poison alert at %s[%d]@%d: %s",
                self.name, self.topic, partition, record.offset, alert,
            )  # fmt: skip
            return []
        return self.book.apply(partition, alert)

    def _count(self, changes: list[Change]) -> None:
        now = self.clock()
        for change in changes:
            self.metrics.forwarded.labels(self.name, change.alert.type).inc()
            age = (now - change.alert.emitted_at).total_seconds()
            self.metrics.delivery.labels(self.name).observe(max(0.0, age))

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
            self.metrics.last_commit.labels(self.name).set(time.time())
        except (CommitFailedError, KafkaError) as exc:
            # The group moved on (a rebalance, or the target was down past max_poll_interval):
            # the new owner rebuilds from the committed offsets and repeats this batch.
            log.warning("%s: commit failed (%s); these alerts will be repeated", self.name, exc)

    async def _rebuild(self, consumer: AIOKafkaConsumer) -> None:
        assigned, self.to_rebuild = self.to_rebuild, set()
        ends = {tp: await consumer.committed(tp) for tp in assigned}
        todo = {tp: end for tp, end in ends.items() if end}
        self.book.drop({tp.partition for tp in assigned})
        self.held.clear()  # positions go back to the committed offsets
        self.fresh = bool(todo)  # with nothing committed yet there is no earlier instance's work
        self.tail_ends.update(await consumer.end_offsets(list(assigned)))
        if todo:
            read = await rebuild(self, todo)
            log.info(
                "%s: rebuilt %d open pages from %d alerts on %d partitions",
                self.name, len(self.book), read, len(todo),
            )  # fmt: skip
        self.metrics.firing.labels(self.name).set(len(self.book))
        self.assigned.set()

    async def _past_tail(self, consumer: AIOKafkaConsumer) -> bool:
        for tp, end in list(self.tail_ends.items()):
            if tp not in consumer.assignment() or await consumer.position(tp) >= end:
                del self.tail_ends[tp]
        if not self.tail_ends and not self.held:
            self.fresh = False
        return not self.tail_ends

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is not None:
                lag += max(0, high - await consumer.position(tp))
        self.metrics.lag.labels(self.name).set(lag)


class _Rebuild(ConsumerRebalanceListener):  # type: ignore[misc]
    """Marks newly assigned partitions for a rebuild; forgets revoked ones."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.forwarder.to_rebuild -= revoked
        self.forwarder.book.drop({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.forwarder.to_rebuild |= assigned


async def rebuild(forwarder: Forwarder, ends: dict[TopicPartition, int]) -> int:
    """Apply every alert before `ends` (partition -> committed offset) to the book."""
    reader = AIOKafkaConsumer(enable_auto_commit=False, **client_kwargs(forwarder.settings))
    await reader.start()
    read = 0
    try:
        reader.assign(list(ends))
        await reader.seek_to_beginning(*ends)
        pending = {tp for tp in ends if await reader.position(tp) < ends[tp]}
        while pending:
            batch = await reader.getmany(*pending, timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp]:
                        alert = decode_alert(record.value)
                        if not isinstance(alert, str):
                            forwarder.book.apply(tp.partition, alert)
                        read += 1
                if await reader.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await reader.stop()
    return read
