"""In-memory deadline index: which tickets of a partition have something due, and when.

It is derived state, rebuilt from the ticket table after every rebalance (the table is the
truth), so it never needs its own changelog. One heap per partition with lazy invalidation:
`schedule` replaces a ticket's instant, stale heap entries are skipped when popped.
"""

from __future__ import annotations

import heapq
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

    def pop_due(self, partition: int, watermark: datetime) -> list[str]:
        """Remove and return the tickets of `partition` whose instant is before `watermark`."""
        heap = self._heaps.get(partition)
        due: list[str] = []
        while heap and heap[0][0] < watermark:
            at, ticket_id = heapq.heappop(heap)
            if self._at.get(ticket_id) == at:
                del self._at[ticket_id]
                due.append(ticket_id)
        return due

    def next_at(self, partition: int) -> datetime | None:
        heap = self._heaps.get(partition)
        while heap and self._at.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None
