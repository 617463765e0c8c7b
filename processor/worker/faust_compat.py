"""The one place that reads faust's (and aiokafka's) private state, with a start-up check,
and fixes to faust.

faust-streaming has no public API for "the next offset a stream will read" or "is this partition
paused", which the consumer-lag metric and the stall watchdog need. Its `Consumer` keeps both in
private attributes; this module alone touches them, through typed accessors. Nor for "make this
table write in the context of that event" (a batch from `Stream.take_events` has no current
event, and a table write takes its changelog partition from the current event):
`in_event(event)` sets faust's private `faust.streams._current_event` for the duration. Nor for
"write this key to the table's local store only" (the changelog written separately, a batch at
a time: `table_writes`): `store_put` / `store_delete` / `store_get` call the store's own
`_set` / `_del` / `_get` (raw bytes; the tables that use them have raw serializers).
`check_app` runs when the app is created, so a faust upgrade that drops one of them stops the
worker at start-up with one line naming the attribute, instead of a traceback in a timer later.
pyproject.toml pins faust-streaming to the minor version these attributes were checked against.

`guard_standby_recovery` fixes a faust defect that made standby replicas skip changelog records
(see its docstring); `standby_remaining` reads how far the standby copies lag.

`FairConsumer` (installed by `install_fair_consumer`) rotates aiokafka's held fetch results so
that each call serves the next partition first (see `rotate_held`); `fetch_state` describes a
partition's fetch state for the stall log. It also hands the streams each input partition's
records in order from its last seek (see `OffsetFence`): faust committed past records it had
skipped after a rebalance.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping, Set
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import version
from typing import Any, NamedTuple

import faust
import faust.stores.rocksdb
import faust.streams
import faust.transport
import rocksdict
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer

__all__ = [
    "PRIVATE_ATTRIBUTES",
    "BoundedRocksDBOptions",
    "FairConsumer",
    "FaustCompatError",
    "OffsetFence",
    "Position",
    "active_rows",
    "bound_rocksdb",
    "check_app",
    "check_consumer_class",
    "check_event_context",
    "current_partition",
    "fetch_state",
    "guard_standby_recovery",
    "in_event",
    "install_fair_consumer",
    "is_paused",
    "positions",
    "standby_remaining",
    "store_delete",
    "store_get",
    "store_put",
]

# name -> what it holds, on faust.transport.consumer.Consumer (faust-streaming 0.15)
PRIVATE_ATTRIBUTES: dict[str, str] = {
    "_read_offset": "TP -> offset last handed to the streams (or None)",
    "_committed_offset": "TP -> offset last committed (or None)",
    "_paused_partitions": "set of paused TPs",
}


class FaustCompatError(RuntimeError):
    """The installed faust no longer has a private attribute the worker relies on."""


class Position(NamedTuple):
    """An assigned input partition: the next offset the streams read, and the high watermark."""

    tp: Any
    position: int
    high: int


def _missing(name: str, where: str) -> FaustCompatError:
    return FaustCompatError(
        f"faust-streaming {version('faust-streaming')}: {where} has no attribute {name!r} "
        "(processor/worker/faust_compat.py relies on it; use the faust-streaming version "
        "pinned in pyproject.toml)"
    )


def check_consumer_class(cls: type) -> None:
    """Raise FaustCompatError naming the first private attribute `cls` does not declare."""
    declared: set[str] = set()
    for klass in cls.__mro__:
        declared.update(getattr(klass, "__annotations__", {}))
    for name in PRIVATE_ATTRIBUTES:
        if name not in declared:
            raise _missing(name, f"consumer class {cls.__module__}.{cls.__qualname__}")


def check_app(app: faust.App) -> None:
    """The start-up check for the consumer class of the app's broker transport."""
    transport = faust.transport.by_url(app.conf.broker[0])
    check_consumer_class(transport.Consumer)
    check_event_context()


def check_event_context() -> None:
    """Raise FaustCompatError unless faust.streams keeps the current event in a ContextVar."""
    if not isinstance(getattr(faust.streams, "_current_event", None), ContextVar):
        raise _missing("_current_event", "module faust.streams (as a ContextVar)")


@contextmanager
def in_event(event: Any) -> Iterator[None]:
    """Make `event` faust's current event (table writes go to its partition) meanwhile."""
    var: ContextVar[Any] = faust.streams._current_event
    token = var.set(weakref.ref(event))
    try:
        yield
    finally:
        var.reset(token)


def current_partition() -> int:
    """The partition of the event being handled (the one `in_event` set, or faust's own)."""
    event = faust.streams.current_event()
    if event is None:
        raise RuntimeError("table write outside of a stream event")
    return int(event.message.partition)


def store_get(store: Any, key: bytes) -> bytes | None:
    """`key`'s value in a table's local store (RocksDB: the current event's partition first)."""
    get = getattr(store, "_get", None)
    value = store.get(key) if get is None else get(key)
    return None if value is None else bytes(value)


def store_put(store: Any, key: bytes, value: bytes) -> None:
    """Write `key` to a table's local store only (RocksDB: the current event's partition)."""
    put = getattr(store, "_set", None)
    if put is None:  # the memory store is a plain mapping of raw keys
        store[key] = value
    else:
        put(key, value)


def store_delete(store: Any, key: bytes) -> None:
    """Delete `key` from a table's local store only."""
    delete = getattr(store, "_del", None)
    if delete is None:
        store.pop(key, None)
    else:
        delete(key)


def _private(consumer: Any, name: str) -> Any:
    value = getattr(consumer, name, _MISSING)
    if value is _MISSING:
        raise _missing(name, f"consumer {type(consumer).__qualname__}")
    return value


_MISSING = object()


def _offsets(consumer: Any, name: str) -> Mapping[Any, int | None]:
    value = _private(consumer, name)
    if not isinstance(value, Mapping):
        raise _missing(name, f"consumer {type(consumer).__qualname__} (as a mapping)")
    return value


def next_offset(consumer: Any, tp: Any) -> int:
    """The next offset of `tp` the streams will read: one after the last handed to them, else
    the committed offset, else 0. `.get` keeps faust's defaultdicts free of new keys."""
    read = _offsets(consumer, "_read_offset").get(tp)
    if read is not None:
        return int(read) + 1
    return int(_offsets(consumer, "_committed_offset").get(tp) or 0)


def is_paused(consumer: Any, tp: Any) -> bool:
    paused = _private(consumer, "_paused_partitions")
    if not isinstance(paused, Set):
        raise _missing("_paused_partitions", f"consumer {type(consumer).__qualname__} (as a set)")
    return tp in paused


def positions(consumer: Any, topic: str) -> list[Position]:
    """(tp, next offset to read, high watermark) of each assigned partition of `topic`."""
    out = []
    for tp in consumer.assignment():
        if tp.topic != topic:
            continue
        high = consumer.highwater(tp)
        if high is None:
            continue
        out.append(Position(tp, next_offset(consumer, tp), int(high)))
    return out


def guard_standby_recovery(app: faust.App) -> None:
    """Stop faust dropping standby changelog records when a recovery completes.

    faust's `Recovery` resumes the standby changelog partitions (after seeking them to the
    offsets the local copy has), then awaits `on_recovery_completed`, which runs the
    `on_recover` callbacks, seeks the input partitions and calls `app.flow_control.resume()`.
    That resume clears every queue flow control manages, the changelog queue included, so
    whatever standby records had been fetched meanwhile (thousands: a fetch holds megabytes)
    are thrown away while the consumer's position stays past them, and nothing seeks back.
    The standby then applies the records after the gap and stores their offset, so a worker
    promoted from it starts past the gap and lacks those tickets for good.

    The fix takes the changelog queue out of flow control for the duration of
    `on_recovery_completed` only. Elsewhere the clears stay: those at a revocation are followed
    by a seek of every standby partition to what the local copy holds, so nothing is lost.
    Not clearing is safe: the queue keeps each partition's records in order, right after the
    last one processed (records already applied are skipped by offset).
    """
    tables: Any = app.tables
    recovery = tables.recovery
    original = recovery.on_recovery_completed
    managed = _private(app.flow_control, "_queues")

    async def on_recovery_completed(generation_id: int = 0) -> None:
        queue = tables.changelog_queue
        managed.discard(queue)
        try:
            await original(generation_id)
        finally:
            managed.add(queue)

    recovery.on_recovery_completed = on_recovery_completed


def standby_remaining(app: faust.App) -> int:
    """Changelog records the standby copies still have to read, up to the end offsets seen at
    the last rebalance (0 without standby partitions)."""
    tables: Any = app.tables
    return int(tables.recovery.standby_remaining_total())


class BoundedRocksDBOptions(faust.stores.rocksdb.RocksDBOptions):
    """faust's RocksDB options with the memory of all of a worker's databases bounded together.

    faust opens one database per table partition (standby copies included), each with its own
    2 GB block cache and 3 x 64 MB write buffers. Here all of them share one block cache and
    one write-buffer manager (the memtables of every database together, flushed early when
    over), and each database's write buffer is `write_buffer_bytes`.
    """

    def __init__(self, *, write_buffer_bytes: int, memtable_bytes: int, cache_bytes: int) -> None:
        super().__init__(write_buffer_size=write_buffer_bytes, max_write_buffer_number=2)
        self.block_cache_size = cache_bytes
        self.shared_cache = rocksdict.Cache(cache_bytes)
        self.write_buffers = rocksdict.WriteBufferManager(memtable_bytes, False)

    def as_options(self) -> Any:
        """faust's options for rocksdict, with the shared cache and write-buffer manager."""
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        if self.max_open_files is not None:
            options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_write_buffer_manager(self.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(self.shared_cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


def bound_rocksdb(table: Any, options: BoundedRocksDBOptions) -> None:
    """Open `table`'s RocksDB databases with `options` (faust builds its store lazily, on the
    worker's loop; the store's `rocksdb_options` is what it opens each partition with)."""
    original = _private(table, "_new_store")

    def new_store() -> Any:
        store = original()
        if isinstance(store, faust.stores.rocksdb.Store):
            store.rocksdb_options = options
        return store

    table._new_store = new_store


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
        rotate_held(_private(consumer._fetcher, "_records"))  # in the consumer's own thread
        return await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )


class OffsetFence:
    """Per partition: the next offset the streams must get, and a seek epoch.

    faust hands records to the streams without checking that they follow on from the last seek
    (`Consumer._drain_messages`). After a rebalance, `Recovery._resume_streams` resumes the kept
    partitions while the flow is still on (from the changelog recovery): records read during
    its seek to the committed offset C go into the stream buffer, and `flow_control.resume()`
    clears them from it right after. The rest of that batch follows the seek; faust takes the
    offsets from C+1 up to it for a gap (`_add_gap`, meant for compacted topics) and `C` itself
    passes `_new_offset`'s `min(acked) - committed > 1` check, and when the records come again
    they are dropped as already read: the next commit goes past records no stream processed.
    With the fence, a record after a hole asks for a seek back to the first missing offset
    (`admit`), and a batch fetched before a seek and not starting where it went is dropped
    (`stale`). A hole still there after the seek back is accepted (records gone from the log,
    transaction markers). Changelog partitions (compacted) are not fenced."""

    def __init__(self) -> None:
        self.expected: dict[Any, int] = {}
        self.epochs: dict[Any, int] = {}
        self.holes: dict[Any, int] = {}  # first missing offset, a seek back asked for
        self.rewound: dict[Any, int] = {}  # seeked back there: a hole there now is real

    def seeked(self, tp: Any, offset: int | None) -> None:
        """A seek of `tp` to `offset`; None: no seek was made (nothing committed), so the
        position is unknown and the next record is accepted."""
        if offset is not None and self.holes.pop(tp, None) == offset:
            self.rewound[tp] = offset
        else:
            self.holes.pop(tp, None)
            self.rewound.pop(tp, None)
        if offset is None:
            self.expected.pop(tp, None)
            return
        self.epochs[tp] = self.epochs.get(tp, 0) + 1
        self.expected[tp] = offset

    def forget(self, tp: Any) -> None:
        self.expected.pop(tp, None)
        self.holes.pop(tp, None)
        self.rewound.pop(tp, None)
        self.epochs[tp] = self.epochs.get(tp, 0) + 1

    def stale(self, tp: Any, since: Mapping[Any, int]) -> bool:
        """Was `tp` seeked (or revoked) after the epochs snapshot `since` was taken?"""
        return self.epochs.get(tp, 0) != since.get(tp, 0)

    def drop_batch(self, tp: Any, first: int, since: Mapping[Any, int]) -> bool:
        """Drop a batch of `tp` starting at `first`, fetched when the epochs were `since`? Only
        if `tp` was seeked since and the batch does not start where that seek went (one that
        does is what the seek fetches anyway). With no known position (nothing committed: no
        seek was made) the batch is kept: nothing would fetch it again."""
        want = self.expected.get(tp)
        return want is not None and self.stale(tp, since) and first != want

    def admit(self, tp: Any, offset: int) -> bool | int:
        """True: deliver; False: drop (already delivered); an int: drop and seek back there."""
        want = self.expected.get(tp)
        if want is None or offset == want or (offset > want and self.rewound.get(tp) == want):
            self.expected[tp] = offset + 1
            self.rewound.pop(tp, None)
            return True
        if offset < want:
            return False
        self.holes[tp] = want
        return want


class FairConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, delivering held records of the partitions in turn, and only
    records that follow on from the last seek of their partition (see `OffsetFence`)."""

    _fence: OffsetFence

    def _new_consumer_thread(self) -> Any:
        self._fence = OffsetFence()
        return _FairConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _fenced(self, tp: Any) -> bool:
        return not self._is_changelog_tp(tp)  # compacted: holes are normal there

    async def seek_to_committed(self) -> Mapping[Any, int]:
        offsets = await super().seek_to_committed()
        for tp, offset in offsets.items():  # aiokafka seeks only to an offset > 0
            if self._fenced(tp):
                self._fence.seeked(tp, offset if offset and offset > 0 else None)
        return offsets

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
                reads = _private(self, "_read_offset")
                if (reads.get(tp) or -1) > message.offset:  # stale: faust would drop it
                    reads[tp] = message.offset
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


def install_fair_consumer(app: faust.App) -> None:
    """Make the app's consumer a `FairConsumer` (call before the app starts); it needs
    `broker_max_poll_records` set, or every call drains everything held anyway."""
    transport: Any = app.transport
    if not issubclass(FairConsumer, transport.Consumer):
        raise _missing("Consumer", f"transport {type(transport).__qualname__} (aiokafka)")
    transport.Consumer = FairConsumer


def active_rows(table: Any) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of every row of `table`'s active partitions, as `table.items()` yields them
    for a bytes-keyed, bytes-valued table, read straight from its RocksDB databases: faust's
    `items()` passes each row through its key/value decoding layers, ~40% of rebuilding the
    deadline index of 1M tickets. Other stores: `table.items()`."""
    store = table.data
    if not isinstance(store, faust.stores.rocksdb.Store) or not store.use_rocksdict:
        yield from table.items()
        return
    offset_key = store.offset_key
    for db in _private(store, "_dbs_for_actives")():
        for key, value in db.items():
            if key != offset_key:
                yield key, value
