"""The ticket table as the worker writes it: the local store at once, the changelog per flush.

faust's `table[key] = value` costs ~240 us of CPU per write (`BENCHMARKS.md`): a FutureMessage
through faust's producer buffer and the task that hands it to aiokafka, the sensors, and a
RocksDB write of the changelog offset on every ack. `ChangelogTable` writes the local store at
once (as faust does) and keeps the changelog records until `flush`, which hands them to the app's
producer, waits once for all the acks, then stores each partition's newest changelog offset
(what faust stores after each record). The records are the ones faust writes (raw key, raw
value, no value for a deletion, the partition of the event being handled), so recovery, standby
replicas and `/tickets` read them as before.

At-least-once: the service flushes right after it commits a step's states, before the step's
records are handed back to faust, so their offsets are committed only once the states are on the
changelog; a flush that fails keeps its records and is retried whole (a record sent twice is the
same key and value: the changelog is compacted).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faust.types import TP

from processor.worker.faust_compat import current_partition, store_delete, store_get, store_put

__all__ = ["ChangelogTable"]


class ChangelogTable:
    """A bytes-keyed faust table seen as `str -> bytes`; its changelog written by `flush`.
    `counted(changelog topic, updated, deleted)` is told what each flush wrote (metrics)."""

    def __init__(self, table: Any, counted: Callable[[str, int, int], None] | None = None) -> None:
        self._table, self._counted = table, counted
        self._unsent: dict[bytes, tuple[int, bytes | None]] = {}
        self._topic: str | None = None

    def get(self, key: str, default: bytes | None = None) -> bytes | None:
        # The store itself: one lookup (the table's own `get` looks a key up twice and
        # reports each read to the sensors).
        value = store_get(self._table.data, key.encode())
        return default if value is None else value

    def __setitem__(self, key: str, value: bytes) -> None:
        key_b = key.encode()
        store_put(self._table.data, key_b, value)
        self._unsent[key_b] = (current_partition(), value)

    def pop(self, key: str, default: bytes | None = None) -> bytes | None:
        key_b = key.encode()
        value = store_get(self._table.data, key_b)
        if value is None:
            return default
        store_delete(self._table.data, key_b)
        self._unsent[key_b] = (current_partition(), None)
        return value

    @property
    def unsent(self) -> int:
        """Changelog records written to the store and not yet acked by the broker."""
        return len(self._unsent)

    async def flush(self) -> None:
        """Send the changelog records of every write since the last flush; returns once the
        broker acked them all. Raises (the records kept for the next attempt) if one fails."""
        if not self._unsent:
            return
        if self._topic is None:
            self._topic = str(self._table.changelog_topic.get_topic_name())
        topic, producer = self._topic, self._table.app.producer
        acks = [
            await producer.send(topic, key, value, partition, None, None)
            for key, (partition, value) in self._unsent.items()
        ]
        sent = await asyncio.gather(*acks)
        newest: dict[int, int] = {}
        for meta in sent:
            newest[meta.partition] = max(meta.offset, newest.get(meta.partition, -1))
        for partition, offset in newest.items():
            self._table.data.set_persisted_offset(TP(topic, partition), offset)
        deleted = sum(1 for _, value in self._unsent.values() if value is None)
        if self._counted is not None:
            self._counted(topic, len(self._unsent) - deleted, deleted)
        self._unsent.clear()
