"""Where the runtime keeps ticket states: the protocol, and the in-memory store of replay.

The live worker's store is the changelog-backed ticket table (`processor.worker.table_store`);
`replay` and `report` keep states in a dict. A store saves a state with the partition it lives on
and its next due instant, so that a store that persists rows can rebuild the deadline index.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from processor.domain.state import TicketState

__all__ = ["MemoryStore", "TicketStore"]


class TicketStore(Protocol):
    def load(self, ticket_id: str) -> TicketState | None:
        """The stored state of `ticket_id`, or None."""

    def save(self, partition: int, state: TicketState, next_due: datetime | None) -> None:
        """Store `state` (living on `partition`, next due at `next_due`)."""

    def delete(self, partition: int, ticket_id: str) -> None:
        """Forget `ticket_id`."""


class MemoryStore:
    """States as live objects in a dict (offline drivers)."""

    def __init__(self) -> None:
        self.states: dict[str, TicketState] = {}

    def __len__(self) -> int:
        return len(self.states)

    def __iter__(self) -> Iterator[TicketState]:
        return iter(self.states.values())

    def load(self, ticket_id: str) -> TicketState | None:
        return self.states.get(ticket_id)

    def save(self, partition: int, state: TicketState, next_due: datetime | None) -> None:
        self.states[state.ticket_id] = state

    def delete(self, partition: int, ticket_id: str) -> None:
        self.states.pop(ticket_id, None)
