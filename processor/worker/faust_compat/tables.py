"""Fixes and tuning of faust's tables: standby records kept through a completed recovery,
RocksDB memory bounded per worker, rows read straight from RocksDB.

`guard_standby_recovery` fixes a faust defect that made standby replicas skip changelog records
(see its docstring); `standby_remaining` reads how far the standby copies lag.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
import faust.stores.rocksdb
import rocksdict

from processor.worker.faust_compat.private import private

__all__ = [
    "BoundedRocksDBOptions",
    "active_rows",
    "bound_rocksdb",
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
