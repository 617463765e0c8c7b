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
        if self._at.get(ticket_id) == at:
            return
        self._at[ticket_id] = at
        heapq.heappush(self._heaps.setdefault(partition, []), (at, ticket_id))

    def scheduled(self, ticket_id: str) -> datetime | None:
        return self._at.get(ticket_id)

    def pop_next(
        self, partitions: Iterable[int], watermark: datetime, *, inclusive: bool = False
    ) -> tuple[int, str] | None:
        """Remove and return the (partition, ticket) due first before `watermark` (at or
        before it with `inclusive`) among `partitions`, or None if none is due."""
        best: tuple[datetime, str, int] | None = None
        for partition in partitions:
            head = self._head(partition)
            if head is None:
                continue
            due = head[0] <= watermark if inclusive else head[0] < watermark
            if due and (best is None or head < best[:2]):
                best = (head[0], head[1], partition)
        if best is None:
            return None
        heapq.heappop(self._heaps[best[2]])
        del self._at[best[1]]
        return best[2], best[1]

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
        while heap and self._at.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0] if heap else None
