"""Fixes and tuning of faust's tables: standby records kept through a completed recovery,
changelog records of partitions no longer assigned dropped, RocksDB memory bounded per worker,
rows read straight from RocksDB.

`guard_standby_recovery` fixes a faust defect that made standby replicas skip changelog records,
`drop_unassigned_changelog_records` one that wrote a record into another table (see their
docstrings); `standby_remaining` reads how far the standby copies lag.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import faust
import faust.stores.rocksdb
import rocksdict

from processor.worker.faust_compat.private import private

log = logging.getLogger(__name__)

__all__ = [
    "BoundedRocksDBOptions",
    "active_rows",
    "bound_rocksdb",
    "drop_unassigned_changelog_records",
    "guard_standby_recovery",
    "standby_remaining",
]


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
    managed = private(app.flow_control, "_queues")

    async def on_recovery_completed(generation_id: int = 0) -> None:
        queue = tables.changelog_queue
        managed.discard(queue)
        try:
            await original(generation_id)
        finally:
            managed.add(queue)

    recovery.on_recovery_completed = on_recovery_completed


def drop_unassigned_changelog_records(app: faust.App) -> None:
    """Drop the changelog records of partitions this worker no longer holds before faust's
    recovery loop applies them to the wrong table.

    faust's `Recovery._slurp_changelogs` looks each changelog record's partition up among the
    active and standby ones; for a partition in neither (a record fetched before a rebalance
    took the partition away) it only logs "recovery unknown topic" and goes on with the
    previous record's table and offsets: the record is written into that other table's store
    and its offset stored as that table's persisted offset for the same partition number.
    Seen in a rolling restart: a `tickets` changelog offset stored for `sightings` partition 2,
    higher than that changelog's end, so the next recovery stopped the worker with
    ConsistencyError (faust-streaming issue #158's message), and a ticket row sat in the
    sightings table. The reverse, a `sightings` offset stored for `tickets` above what that copy
    holds, makes the next recovery skip changelog records: tickets lost.

    Dropping such a record is safe: the partition is not one this worker reads now (revoked,
    or assigned and not yet in the sets), and faust seeks every partition it adds to the sets
    to the offset its local copy holds, which this record never advanced. Left open: faust's
    loop gets the record through `asyncio.wait_for`, a task of its own, so a rebalance that ran
    in the loop turns between this check and faust's lookup would still meet the old path
    (not seen; the queue is cleared at a revocation and a group join comes in between).
    """
    tables: Any = app.tables
    recovery = tables.recovery
    # The sets faust's loop binds once and `on_rebalance` refills in place; a faust without
    # them stops the worker here, with one line, not every record in the loop.
    active, standby = private(recovery, "active_tps"), private(recovery, "standby_tps")
    queue = tables.changelog_queue
    original = queue.get

    dropping: set[Any] = set()  # partitions whose first dropped record was logged

    async def get() -> Any:
        while True:
            event = await original()
            tp = event.message.tp
            if tp in active or tp in standby:
                dropping.discard(tp)
                return event
            if tp not in dropping:  # a fetch can hold thousands: one line per partition
                dropping.add(tp)
                log.info(
                    "dropping changelog records of %s[%d] from offset %d: not an active or "
                    "standby partition of this worker (any more)",
                    tp.topic,
                    tp.partition,
                    event.message.offset,
                )

    queue.get = get


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
    original = private(table, "_new_store")

    def new_store() -> Any:
        store = original()
        if isinstance(store, faust.stores.rocksdb.Store):
            store.rocksdb_options = options
        return store

    table._new_store = new_store


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
    for db in private(store, "_dbs_for_actives")():
        for key, value in db.items():
            if key != offset_key:
                yield key, value
