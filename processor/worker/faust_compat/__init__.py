"""The one place that reads faust's (and aiokafka's) private state, with a start-up check,
and fixes to faust; every other module imports what it needs from here.

- `private`: typed accessors of faust's private consumer attributes, the current event
  (`in_event`), table writes to the local store only, and `check_app`, which runs when the app
  is created, so a faust upgrade that drops one of them stops the worker at start-up with one
  line naming the attribute, instead of a traceback in a timer later. pyproject.toml pins
  faust-streaming to the minor version these were checked against.
- `tables`: standby records kept through a completed recovery (`guard_standby_recovery`),
  changelog records of partitions no longer held dropped (`drop_unassigned_changelog_records`),
  RocksDB memory bounded per worker, rows read straight from RocksDB (`active_rows`).
- `fence` and `consumer`: the streams get each input partition's records in order from its
  last seek (`OffsetFence`, `FairConsumer`), fetched partitions served in turn.
"""

from processor.worker.faust_compat.consumer import (
    FairConsumer,
    arrived,
    fetch_state,
    install_fair_consumer,
    rotate_held,
)
from processor.worker.faust_compat.fence import OffsetFence
from processor.worker.faust_compat.private import (
    PRIVATE_ATTRIBUTES,
    FaustCompatError,
    Position,
    check_app,
    check_consumer_class,
    check_event_context,
    current_partition,
    in_event,
    is_paused,
    next_offset,
    positions,
    store_delete,
    store_get,
    store_put,
)
from processor.worker.faust_compat.tables import (
    BoundedRocksDBOptions,
    active_rows,
    bound_rocksdb,
    drop_unassigned_changelog_records,
    guard_standby_recovery,
    standby_remaining,
)

__all__ = [
    "PRIVATE_ATTRIBUTES",
    "BoundedRocksDBOptions",
    "FairConsumer",
    "FaustCompatError",
    "OffsetFence",
    "Position",
    "active_rows",
    "arrived",
    "bound_rocksdb",
    "check_app",
    "check_consumer_class",
    "check_event_context",
    "current_partition",
    "drop_unassigned_changelog_records",
    "fetch_state",
    "guard_standby_recovery",
    "in_event",
    "install_fair_consumer",
    "is_paused",
    "next_offset",
    "positions",
    "rotate_held",
    "standby_remaining",
    "store_delete",
    "store_get",
    "store_put",
]
