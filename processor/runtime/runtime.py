"""`TicketRuntime`: one driver of `SlaMachine` for the live worker, `replay` and `report`.

A call (`on_event`, `advance`) returns a `Step`: the alerts it raised, in order, and the states it
changed. The driver publishes the alerts (live: and waits for the broker's acks), then calls
`commit`, which writes the changed states to the store, one write per ticket however often the
step changed it. Until then, the runtime reads its own changes first, so one step never sees a
stale state. A ticket whose core call raises is reported in `Step.failures` with the exception,
its half-made changes are dropped (its stored state stands), and the rest of the step goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from processor.domain.alerts import Alert
from processor.domain.events import Event
from processor.domain.machine import Outcome, SlaMachine
from processor.domain.state import TicketState
from processor.runtime.index import DeadlineIndex
from processor.runtime.store import TicketStore
from processor.runtime.watermarks import Late, Watermarks

__all__ = ["Step", "TicketRuntime"]


@dataclass(slots=True)
class Step:
    """What one runtime call did; publish `alerts`, then `TicketRuntime.commit` it."""

    alerts: list[Alert] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    set_aside: list[Late] = field(default_factory=list)
    failures: list[tuple[str, Exception]] = field(default_factory=list)
    more: bool = False
    """`advance` stopped at its limit: call it again for the rest."""


@dataclass(slots=True)
class _Change:
    partition: int
    state: TicketState
    delete: bool
    next_due: datetime | None


class TicketRuntime:
    def __init__(self, machine: SlaMachine, store: TicketStore, watermarks: Watermarks) -> None:
        self.machine, self.store, self.watermarks = machine, store, watermarks
        self.index = DeadlineIndex()
        self._changes: dict[str, _Change] = {}

    def on_event(
        self,
        partition: int,
        event: Event,
        now: datetime | None = None,
        *,
        horizon: datetime | None = None,
        token: int = 0,
    ) -> Step:
        """Apply one event read on `partition`. `now` stamps alerts (None: the watermark, as
        replay does); `horizon` caps what the event's own time may raise (live: wall clock)."""
        step = Step()
        at = event.occurred_at
        seen = self.watermarks.observe(partition, at, now or at, token)
        if seen.set_aside:
            step.set_aside = list(seen.set_aside)
        watermark = self.watermarks.watermark(partition)
        if seen.moved and watermark is not None:
            self._advance(step, self._scope(partition), watermark, now, inclusive=False)
        stamp = now or watermark or at
        try:
            state, out = self.machine.apply(self._load(event.ticket_id), event, stamp, horizon)
            # A ticket read behind the watermark (created late) is due at the next move of the
            # watermark or at the end of input, not at once: its own events, often produced
            # right after it (a backfill, a bridge replaying ticket by ticket), come first.
            self._settle(step, partition, state, out)
        except Exception as exc:  # one bad ticket must not stop the others: reported
            self._drop(partition, event.ticket_id)
            step.failures.append((event.ticket_id, exc))
        return step

    def advance(
        self,
        partitions: Iterable[int],
        watermark: datetime,
        now: datetime | None = None,
        *,
        inclusive: bool = False,
        limit: int | None = None,
    ) -> Step:
        """Raise what is due before `watermark` (at or before, with `inclusive`) on these
        partitions, in due order; at most `limit` tickets (then `Step.more` is set)."""
        step = Step()
        self._advance(step, list(partitions), watermark, now, inclusive=inclusive, limit=limit)
        return step

    def finish(self, until: datetime | None = None) -> Step:
        """End of input (offline): raise everything due before the final watermark, or at
        or before `until` when given."""
        end, set_aside = _finish(self.watermarks)
        step = Step(set_aside=set_aside)
        final = until if until is not None else end
        if final is not None:
            self._advance(step, self.index.partitions(), final, None, inclusive=until is not None)
        return step

    def commit(self) -> None:
        """Store every state changed since the last commit (after its alerts were published)."""
        changes = self._changes
        if not changes:
            return
        store = self.store
        for ticket_id, change in changes.items():
            if change.delete:
                store.delete(change.partition, ticket_id)
            else:
                store.save(change.partition, change.state, change.next_due)
        changes.clear()

    def discard(self, partition: int | None = None) -> None:
        """Forget uncommitted changes (their alerts were not published), of one partition or
        of all; the stored states stand and the index follows them again."""
        for ticket_id, change in list(self._changes.items()):
            if partition is None or change.partition == partition:
                self._drop(change.partition, ticket_id)

    def rebuild(self, entries: Iterable[tuple[int, str, datetime | None]]) -> int:
        """Re-derive the index from stored (partition, ticket, next due); returns the count."""
        self.index.clear()
        count = 0
        for partition, ticket_id, due in entries:
            self.index.schedule(partition, ticket_id, due)
            count += 1
        return count

    # -- internals --------------------------------------------------------------------------

    def _scope(self, partition: int) -> list[int]:
        return self.index.partitions() if self.watermarks.shared else [partition]

    def _advance(
        self,
        step: Step,
        partitions: list[int],
        wm: datetime,
        now: datetime | None,
        *,
        inclusive: bool,
        limit: int | None = None,
    ) -> None:
        stamp = now or wm
        done = 0
        index = self.index
        while True:
            if limit is not None and done >= limit:
                step.more = index.has_due(partitions, wm, inclusive=inclusive)
                break
            found = index.pop_next(partitions, wm, inclusive=inclusive)
            if found is None:
                break
            partition, ticket_id = found
            state = self._load(ticket_id)
            if state is None:
                continue
            try:
                out = self.machine.due(state, wm, stamp, inclusive=inclusive)
                self._settle(step, partition, state, out)
            except Exception as exc:  # reported; the ticket waits for its next event
                self._changes.pop(ticket_id, None)
                step.failures.append((ticket_id, exc))
            done += 1

    def _load(self, ticket_id: str) -> TicketState | None:
        change = self._changes.get(ticket_id)
        if change is not None:
            return None if change.delete else change.state
        return self.store.load(ticket_id)

    def _settle(self, step: Step, partition: int, state: TicketState, out: Outcome) -> None:
        if out.alerts:
            step.alerts.extend(out.alerts)
        step.outcomes.append(out)
        if out.duplicate:
            return
        due = None if out.delete else self.machine.next_due(state)
        ticket_id = state.ticket_id
        self._changes[ticket_id] = _Change(partition, state, out.delete, due)
        self.index.schedule(partition, ticket_id, due)

    def _drop(self, partition: int, ticket_id: str) -> None:
        self._changes.pop(ticket_id, None)
        stored = self.store.load(ticket_id)
        try:
            due = None if stored is None else self.machine.next_due(stored)
        except Exception:  # a state the core cannot read waits for its next event
            due = None
        self.index.schedule(partition, ticket_id, due)


def _finish(watermarks: Watermarks) -> tuple[datetime | None, list[Late]]:
    finish = getattr(watermarks, "finish", None)
    if finish is None:
        return None, []
    end, set_aside = finish()
    return end, list(set_aside)
