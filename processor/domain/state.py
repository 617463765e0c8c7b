"""Per-ticket SLA state: what the ticket table stores for one `ticket_id`.

A ticket is in one of three phases:
- `pending`: events arrived before `ticket.created`; they are kept (bounded by event time) and
  applied when the creation event arrives;
- `open`: awaiting its first response; `thresholds` holds the due instants of the current deadline;
- `stopped`: the first response (or a close) happened; the record shrinks to a tombstone
  (`shrink`): what `/tickets/{id}` shows (customer, tier, priority, zone, creation, deadline,
  target, stop instant, reason, met, whether `sla.resolved` was sent) and the last
  `TOMBSTONE_SEEN_IDS` event ids; no thresholds, alerts sent or early events. It never changes
  again: every later event for the ticket (a redelivered `ticket.created` with a new event id
  too) is ignored until the policy's `tombstone_retention` has passed after `stopped_at` (event
  time), and then the row is deleted.

With next reply or resolution enabled, `life` holds the ticket's status and those clocks, and
the phase stays `open` after the first response until every metric is final (closed, or solved
for the policy's `solved_retention`); `stopped_at` / `met` are then the first response's.

`to_dict` / `from_dict` give a JSON-compatible form for the changelog-backed table. Every key is
always written, so a worker of the previous release can still read a tombstone (rolling upgrade),
and `from_dict` shrinks a stopped row that such a worker wrote.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from processor.domain.alerts import format_instant
from processor.domain.clocks import Lifecycle

__all__ = ["MAX_SEEN_IDS", "TOMBSTONE_SEEN_IDS", "Phase", "TicketState"]

Phase = Literal["pending", "open", "stopped"]
MAX_SEEN_IDS = 256
"""How many recent event ids a ticket remembers for deduplication."""
TOMBSTONE_SEEN_IDS = 4
"""How many of its last event ids a stopped ticket keeps: a redelivery of the events that just
stopped it still counts as a duplicate; an older one is ignored all the same."""


@dataclass(slots=True)
class TicketState:
    """The SLA state of one ticket. Instants are timezone-aware UTC datetimes."""

    ticket_id: str
    phase: Phase = "pending"
    customer_id: str = ""
    tier: str = ""
    priority: int = 0
    timezone: str = "UTC"
    created_at: datetime | None = None
    origin: datetime | None = None
    """Instant the clock of the current target counts from (creation, or a priority change)."""
    target_seconds: int = 0
    deadline: datetime | None = None
    thresholds: list[tuple[float, datetime]] = field(default_factory=list)
    sent: list[tuple[str, float]] = field(default_factory=list)
    """Alerts raised so far, as (deadline in RFC 3339, threshold); not the resolved alert."""
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    met: bool | None = None
    resolved_sent: bool = False
    pending: list[str] = field(default_factory=list)
    """Raw JSON of events that arrived before `ticket.created`, in arrival order."""
    pending_since: datetime | None = None
    seen: list[str] = field(default_factory=list)
    country: str | None = None
    """The ticket's country, kept only when a calendar takes holidays `from_ticket`."""
    life: Lifecycle | None = None
    """Status and the next-reply and resolution clocks; only when the policy enables them."""

    @property
    def first_running(self) -> bool:
        """Whether the first-response clock still runs."""
        return self.phase == "open" and self.stopped_at is None

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen

    def remember(self, event_id: str) -> None:
        self.seen.append(event_id)
        if len(self.seen) > MAX_SEEN_IDS:
            del self.seen[: len(self.seen) - MAX_SEEN_IDS]

    def shrink(self) -> None:
        """Reduce a stopped ticket to its tombstone (see the module docstring)."""
        self.origin, self.pending_since = None, None
        self.thresholds, self.sent, self.pending = [], [], []
        if self.life is not None:
            self.life.shrink()
        del self.seen[: max(len(self.seen) - TOMBSTONE_SEEN_IDS, 0)]

    def is_sent(self, deadline: datetime, threshold: float) -> bool:
        # Most tickets never had an alert: skip formatting the deadline for them.
        return bool(self.sent) and (format_instant(deadline), threshold) in self.sent

    def sent_for_current_deadline(self) -> list[float]:
        """Thresholds already raised against the current deadline."""
        if self.deadline is None:
            return []
        current = format_instant(self.deadline)
        return [t for d, t in self.sent if d == current]

    def to_dict(self) -> dict[str, Any]:
        out = self._core_dict()
        # Written only when used, so the rows of a first-response-only policy keep their bytes.
        if self.country is not None:
            out["country"] = self.country
        if self.life is not None:
            out["life"] = self.life.to_dict()
        return out

    def _core_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "phase": self.phase,
            "customer_id": self.customer_id,
            "tier": self.tier,
            "priority": self.priority,
            "timezone": self.timezone,
            "created_at": _dt_out(self.created_at),
            "origin": _dt_out(self.origin),
            "target_seconds": self.target_seconds,
            "deadline": _dt_out(self.deadline),
            "thresholds": [[f, d.isoformat()] for f, d in self.thresholds],
            "sent": [[d, t] for d, t in self.sent],
            "stopped_at": _dt_out(self.stopped_at),
            "stop_reason": self.stop_reason,
            "met": self.met,
            "resolved_sent": self.resolved_sent,
            "pending": list(self.pending),
            "pending_since": _dt_out(self.pending_since),
            "seen": list(self.seen),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketState:
        """The state `to_dict` gave, or a row of an earlier release (a stopped one is shrunk).

        Strings shared by many tickets are interned: one copy for all decoded states."""
        state = cls(
            ticket_id=data["ticket_id"],
            phase=cast(Phase, sys.intern(data["phase"])),
            customer_id=sys.intern(data["customer_id"]),
            tier=sys.intern(data["tier"]),
            priority=data["priority"],
            timezone=sys.intern(data["timezone"]),
            created_at=_dt_in(data["created_at"]),
            origin=_dt_in(data["origin"]),
            target_seconds=data["target_seconds"],
            deadline=_dt_in(data["deadline"]),
            thresholds=[(float(f), datetime.fromisoformat(d)) for f, d in data["thresholds"]],
            sent=[(str(d), float(t)) for d, t in data["sent"]],
            stopped_at=_dt_in(data["stopped_at"]),
            stop_reason=_intern(data["stop_reason"]),
            met=data["met"],
            resolved_sent=data["resolved_sent"],
            pending=list(data["pending"]),
            pending_since=_dt_in(data["pending_since"]),
            seen=list(data["seen"]),
            country=data.get("country"),
            life=None if data.get("life") is None else Lifecycle.from_dict(data["life"]),
        )
        if state.phase == "stopped":
            state.shrink()
        return state


def _intern(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


def _dt_out(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt_in(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
