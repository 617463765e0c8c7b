"""The ticket table as a `TicketStore`: rows as `processor.worker.rows` encodes them.

A table whose writes must be made in the context of a record of the partition they go to (the
faust table: its changelog write goes to the partition of the current event) gets a `scope`:
`scope(partition)` is entered around each write.

Every write also sets the ticket's census class (the open / at-risk / breached gauges), so the
gauges follow the table; `entries` reads only each row's head, for rebuilding the index.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Protocol

from processor.domain.lifecycle import current_sent
from processor.domain.state import TicketState
from processor.worker.metrics import TicketCensus
from processor.worker.rows import decode_head, decode_state, encode_row

__all__ = ["Scope", "StrKeyTable", "TableStore", "TicketTable", "klass_of"]

Scope = Callable[[int], AbstractContextManager[object]]
"""`scope(partition)`: the context a write to `partition` is made in."""


def _no_scope(partition: int) -> AbstractContextManager[object]:
    return nullcontext()


class TicketTable(Protocol):
    """The ticket table as the service uses it: `ticket_id -> encoded row`."""

    def get(self, key: str, default: bytes | None = None, /) -> bytes | None: ...

    def __setitem__(self, key: str, value: bytes, /) -> None: ...

    def pop(self, key: str, default: bytes | None = None, /) -> bytes | None: ...


class StrKeyTable:
    """A bytes-keyed faust table (the raw key serializer stores UTF-8) seen as `str -> bytes`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, default: bytes | None = None) -> bytes | None:
        # The store itself: one lookup (the table's own `get` looks a key up twice and
        # reports each read to the sensors, ~10% of the worker's CPU per event).
        value = self._table.data.get(key.encode())
        return default if value is None else bytes(value)

    def __setitem__(self, key: str, value: bytes) -> None:
        self._table[key.encode()] = value

    def pop(self, key: str, default: bytes | None = None) -> bytes | None:
        key_b = key.encode()
        if key_b not in self._table:
            return default
        value = bytes(self._table[key_b])
        del self._table[key_b]
        return value


def klass_of(state: TicketState) -> str | None:
    """The census class of an open ticket: `tier:priority:risk` while its first response runs
    (risk: ok, at_risk, breached), then `,metric:tier:priority:risk` for each running or paused
    next-reply / resolution clock; None when nothing runs (no space: it is a row's head field)."""
    if state.phase != "open":
        return None
    parts = []
    if state.stopped_at is None:
        sent = state.sent_for_current_deadline()
        risk = "breached" if 1.0 in sent else "at_risk" if sent else "ok"
        parts.append(f"{state.tier}:{state.priority}:{risk}")
    life = state.life
    if life is not None:
        for metric, clock in (("next_reply", life.next_reply), ("resolution", life.resolution)):
            if clock is None or (metric == "resolution" and life.status == "solved"):
                continue
            done = current_sent(metric, clock)
            risk = "breached" if 1.0 in done else "at_risk" if done else "ok"
            parts.append(f"{metric}:{state.tier}:{state.priority}:{risk}")
    # Interned: the census keeps one per open ticket, and there are few distinct values.
    return sys.intern(",".join(parts)) if parts else None


class TableStore:
    def __init__(self, table: TicketTable, census: TicketCensus, scope: Scope = _no_scope) -> None:
        self.table, self.census, self.scope = table, census, scope
        self.compact_rows = True  # False: rows an earlier release reads (settings.row_format)

    def load(self, ticket_id: str) -> TicketState | None:
        row = self.table.get(ticket_id)
        return None if row is None else decode_state(row)

    def save(self, partition: int, state: TicketState, next_due: datetime | None) -> None:
        klass = klass_of(state)
        row = encode_row(partition, next_due, klass, state, self.compact_rows)
        with self.scope(partition):
            self.table[state.ticket_id] = row
        self.census.set(partition, state.ticket_id, klass)

    async def flush(self) -> None:
        """Make the writes so far durable, for a table that holds them (`ChangelogTable`)."""
        flush = getattr(self.table, "flush", None)
        if flush is not None:
            await flush()

    def delete(self, partition: int, ticket_id: str) -> None:
        with self.scope(partition):
            self.table.pop(ticket_id, None)
        self.census.set(partition, ticket_id, None)

    def entries(
        self, rows: Iterable[tuple[str | bytes, bytes]], active: set[int]
    ) -> Iterator[tuple[int, str, datetime | None]]:
        """(partition, ticket, next due) of the rows on `active` partitions; sets the census."""
        self.census.clear()
        for key, row in rows:
            partition, due, klass = decode_head(row)
            if partition not in active:
                continue
            ticket_id = key.decode() if isinstance(key, bytes) else key
            self.census.set(partition, ticket_id, klass)
            yield partition, ticket_id, due
