"""In-memory deadline index: which tickets of a partition have something due, and when.

It is derived state: the live worker rebuilds it from the ticket table after every rebalance (the
table is the truth), so it never needs its own changelog. One heap per partition with lazy
invalidation: `schedule` replaces a ticket's instant, stale heap entries are skipped when popped.
Ties are broken by ticket id, so the same input always pops in the same order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

__all__ = ["DeadlineIndex"]


class DeadlineIndex:
    def __init__(self) -> None:
        self._heaps: dict[int, list[tuple[datetime, str]]] = {}
        self._at: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._at)

    def clear(self) -> None:
        self._heaps.clear()
        self._at.clear()

    def schedule(self, partition: int, ticket_id: str, at: datetime | None) -> None:
        """Set (or with None, remove) the next instant at which `ticket_id` needs attention."""
        if at is None:
            self._at.pop(ticket_id, None)
            return
        known = self._at
        if known.get(ticket_id) == at:
            return
        known[ticket_id] = at
        heap = self._heaps.get(partition)
        if heap is None:
            heap = self._heaps[partition] = []
        heapq.heappush(heap, (at, ticket_id))

    def scheduled(self, ticket_id: str) -> datetime | None:
        return self._at.get(ticket_id)

    def pop_next(
        self, partitions: Iterable[int], watermark: datetime, *, inclusive: bool = False
    ) -> tuple[int, str] | None:
        """Remove and return the (partition, ticket) due first before `watermark` (at or
        before it with `inclusive`) among `partitions`, or None if none is due."""
        best: tuple[datetime, str] | None = None
        best_partition = 0
        for partition in partitions:
            head = self._head(partition)
            if head is None or (head[0] > watermark if inclusive else head[0] >= watermark):
                continue
            if best is None or head < best:
                best, best_partition = head, partition
        if best is None:
            return None
        heapq.heappop(self._heaps[best_partition])
        del self._at[best[1]]
        return best_partition, best[1]

    def has_due(
        self, partitions: Iterable[int], watermark: datetime, *, inclusive: bool = False
    ) -> bool:
        for partition in partitions:
            head = self._head(partition)
            if head is not None and (head[0] <= watermark if inclusive else head[0] < watermark):
                return True
        return False

    def partitions(self) -> list[int]:
        return sorted(self._heaps)

    def next_at(self, partition: int) -> datetime | None:
        head = self._head(partition)
        return None if head is None else head[0]

    def _head(self, partition: int) -> tuple[datetime, str] | None:
        heap = self._heaps.get(partition)
        if not heap:
            return None
        known = self._at
        head = heap[0]
        while known.get(head[1]) != head[0]:
            heapq.heappop(heap)
            if not heap:
                return None
            head = heap[0]
        return head
