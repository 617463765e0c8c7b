"""Next reply and resolution (docs/contract.md#8-more-sla-metrics): the rules `SlaMachine`
applies to a ticket whose row carries a `Lifecycle` (its policy enables these metrics).

- next_reply: a cycle starts at a public customer reply once the first response has stopped, the
  ticket is not final and no cycle runs, unless the reply is stamped before the last public agent
  response. It stops at the next public agent response (one stamped before the cycle's start
  stops it at zero), or at solved / closed. Alert identity: (ticket, cycle start, deadline,
  threshold); `sla.resolved`: (ticket, cycle start).
- resolution: from the creation to solved / closed; no business time counts while the status is
  in `pause_on`. Leaving solved for any status but closed resumes it (into a `pause_on` status it
  stays paused); closed is final. Alert identity: (ticket, origin, target seconds, threshold), so
  a pause that moves the deadline alerts nothing twice; `sla.resolved`: (ticket, stop instant).
- a priority change retargets every clock: counted from its origin (`from_creation`: the cycle's
  start or the creation, with the business time already spent) or from the change
  (`from_change`). A paused clock takes the new target when it resumes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from processor.domain.alerts import Alert, clock_alert_id, format_instant
from processor.domain.calendar import BusinessCalendar
from processor.domain.clocks import Clock, Lifecycle, place, spent_at
from processor.domain.constants import STOP_STATUSES
from processor.domain.events import (
    AgentResponded,
    CustomerReplied,
    Event,
    PriorityChanged,
    StatusChanged,
)
from processor.domain.state import TicketState
from processor.domain.thresholds import Threshold

if TYPE_CHECKING:
    from processor.domain.machine import Outcome

__all__ = ["NEXT_REPLY", "RESOLUTION", "LifecycleRules"]

NEXT_REPLY, RESOLUTION = "next_reply", "resolution"
_US = timedelta(microseconds=1)


class LifecycleRules:
    """Mixin of `SlaMachine`: the next-reply and resolution clocks."""

    _pause_on: frozenset[str]
    _next_reply: bool
    _resolution: bool
    _from_change: bool

    # Provided by SlaMachine.
    def _calendar_of(self, state: TicketState) -> BusinessCalendar:
        raise NotImplementedError

    def _thresholds_for(self, target: timedelta) -> list[Threshold]:
        raise NotImplementedError

    def _target(self, state: TicketState, metric: str) -> timedelta:
        raise NotImplementedError

    def _stop_first(
        self, state: TicketState, at: datetime, reason: str, now: datetime, out: Outcome
    ) -> None:
        raise NotImplementedError

    def _change_first(self, state: TicketState, event: PriorityChanged) -> None:
        raise NotImplementedError

    def _stop_record(
        self, state: TicketState, metric: str, spent: timedelta, target: int, met: bool,
        reason: str, at: datetime, out: Outcome,
    ) -> None:  # fmt: skip
        raise NotImplementedError

    def _make_alert(
        self, state: TicketState, metric: str, kind: str, fraction: float | None,
        due_at: datetime, deadline: datetime, target: int, alert_id: str, now: datetime,
    ) -> Alert:  # fmt: skip
        raise NotImplementedError

    def _finalize(self, state: TicketState, at: datetime) -> None:
        raise NotImplementedError

    # -- start ------------------------------------------------------------------------------

    def _open_life(self, state: TicketState, created: datetime) -> None:
        life = state.life = Lifecycle()
        if self._resolution:
            life.resolution = Clock(created, created, 0, created)
            self._place(state, life.resolution, RESOLUTION)

    def _place(self, state: TicketState, clock: Clock, metric: str) -> None:
        target = self._target(state, metric)
        place(clock, self._calendar_of(state), target, self._thresholds_for(target))

    # -- events -----------------------------------------------------------------------------

    def _apply_life(
        self, state: TicketState, life: Lifecycle, event: Event, now: datetime, out: Outcome
    ) -> None:
        at = event.occurred_at
        if isinstance(event, AgentResponded) and event.public:
            if state.stopped_at is None:
                self._stop_first(state, at, "response", now, out)
            life.last_agent_at = at if life.last_agent_at is None else max(at, life.last_agent_at)
            if life.next_reply is not None:
                self._stop_cycle(state, life, at, "response", now, out)
        elif isinstance(event, CustomerReplied) and self._starts_cycle(state, life, event):
            assert state.created_at is not None
            start = max(at, state.created_at)
            life.next_reply = Clock(start, start, 0, start)
            self._place(state, life.next_reply, NEXT_REPLY)
        elif isinstance(event, StatusChanged) and event.status != life.status:
            self._change_status(state, life, event.status, at, now, out)
        elif isinstance(event, PriorityChanged) and event.priority != state.priority:
            self._change_priority_all(state, life, event)
        else:
            out.ignored = True

    def _starts_cycle(self, state: TicketState, life: Lifecycle, event: CustomerReplied) -> bool:
        return (
            self._next_reply
            and event.public
            and state.stopped_at is not None
            and life.next_reply is None
            and (life.last_agent_at is None or event.occurred_at >= life.last_agent_at)
        )

    def _change_status(
        self,
        state: TicketState,
        life: Lifecycle,
        status: str,
        at: datetime,
        now: datetime,
        out: Outcome,
    ) -> None:
        old, life.status = life.status, status
        clock = life.resolution
        if status in STOP_STATUSES:
            if state.stopped_at is None:
                self._stop_first(state, at, status, now, out)
            if life.next_reply is not None:
                self._stop_cycle(state, life, at, status, now, out)
            if clock is not None and old != "solved":
                self._stop_resolution(state, clock, at, status, now, out)
            if status == "closed":
                self._finalize(state, at)
            else:  # solved (from another status: the same status again is ignored)
                life.solved_at = at
            return
        if old == "solved":
            life.solved_at = None
        if clock is None:
            return
        paused = status in self._pause_on
        if clock.running and paused:
            self._pause(state, clock, at)
        elif not clock.running and not paused:
            clock.since, clock.running = max(at, clock.since), True
            self._place(state, clock, RESOLUTION)

    def _pause(self, state: TicketState, clock: Clock, at: datetime) -> None:
        stop = max(at, clock.since)
        clock.spent_us = spent_at(clock, self._calendar_of(state), stop) // _US
        clock.since, clock.running, clock.thresholds = stop, False, []

    def _change_priority_all(
        self, state: TicketState, life: Lifecycle, event: PriorityChanged
    ) -> None:
        if state.stopped_at is None:
            self._change_first(state, event)  # sets the priority
        state.priority = event.priority
        from_change = self._from_change
        for metric, clock in ((NEXT_REPLY, life.next_reply), (RESOLUTION, life.resolution)):
            if clock is None or (metric == RESOLUTION and life.status == "solved"):
                if clock is not None and from_change:
                    self._restart(clock, event.occurred_at)
                continue
            if from_change:
                self._restart(clock, event.occurred_at)
            self._place(state, clock, metric)

    @staticmethod
    def _restart(clock: Clock, at: datetime) -> None:
        """`from_change`: the new target counts from the change (a new alert identity)."""
        origin = max(at, clock.start)
        clock.origin, clock.spent_us, clock.sent = origin, 0, []
        clock.since = origin if clock.running else max(origin, clock.since)

    # -- stops ------------------------------------------------------------------------------

    def _stop_cycle(
        self, state: TicketState, life: Lifecycle, at: datetime, reason: str, now: datetime,
        out: Outcome,
    ) -> None:  # fmt: skip
        clock = life.next_reply
        assert clock is not None and clock.deadline is not None
        stop = max(at, clock.start)  # a response stamped before the cycle stops it at zero
        spent = spent_at(clock, self._calendar_of(state), stop)
        met = stop <= clock.deadline
        self._stop_record(state, NEXT_REPLY, spent, clock.target_seconds, met, reason, stop, out)
        if clock.sent:
            key = format_instant(clock.start)
            ident = clock_alert_id(state.ticket_id, NEXT_REPLY, (key,), None)
            out.alerts.append(self._clock_alert(state, NEXT_REPLY, clock, None, stop, ident, now))
        life.next_reply = None

    def _stop_resolution(
        self, state: TicketState, clock: Clock, at: datetime, reason: str, now: datetime,
        out: Outcome,
    ) -> None:  # fmt: skip
        stop = max(at, clock.since)
        spent = spent_at(clock, self._calendar_of(state), stop)
        met = spent <= timedelta(seconds=clock.target_seconds)
        self._stop_record(state, RESOLUTION, spent, clock.target_seconds, met, reason, stop, out)
        if clock.sent:
            key = format_instant(stop)
            ident = clock_alert_id(state.ticket_id, RESOLUTION, (key,), None)
            out.alerts.append(self._clock_alert(state, RESOLUTION, clock, None, stop, ident, now))
        clock.spent_us = spent // _US
        clock.since, clock.running, clock.thresholds = stop, False, []

    # -- alerts -----------------------------------------------------------------------------

    def _raise_clocks(
        self, state: TicketState, life: Lifecycle, watermark: datetime, now: datetime,
        out: Outcome, inclusive: bool,
    ) -> None:  # fmt: skip
        for metric, clock in ((NEXT_REPLY, life.next_reply), (RESOLUTION, life.resolution)):
            if clock is None or not clock.thresholds:
                continue
            first = clock.thresholds[0][1]
            if first > watermark if inclusive else first >= watermark:
                continue  # nothing due on this clock (most calls)
            self._raise_clock(state, metric, clock, watermark, now, out, inclusive)

    def _raise_clock(
        self, state: TicketState, metric: str, clock: Clock, watermark: datetime, now: datetime,
        out: Outcome, inclusive: bool,
    ) -> None:  # fmt: skip
        key = _sent_key(metric, clock)
        parts: tuple[str, ...] = ()  # formatted once, and only when an alert is raised
        for fraction, at in clock.thresholds:
            if not (at <= watermark if inclusive else at < watermark):
                break
            if (key, fraction) in clock.sent:
                continue
            parts = parts or _identity(metric, clock)
            ident = clock_alert_id(state.ticket_id, metric, parts, fraction)
            out.alerts.append(self._clock_alert(state, metric, clock, fraction, at, ident, now))
            clock.sent.append((key, fraction))

    def _clock_alert(
        self, state: TicketState, metric: str, clock: Clock, fraction: float | None,
        due_at: datetime, ident: str, now: datetime,
    ) -> Alert:  # fmt: skip
        if fraction is None:
            kind = "sla.resolved"
        else:
            kind = "sla.breached" if fraction >= 1.0 else "sla.near_breach"
        deadline = clock.deadline or due_at
        target = clock.target_seconds
        return self._make_alert(state, metric, kind, fraction, due_at, deadline, target, ident, now)

    def _next_clock_due(self, life: Lifecycle, found: datetime | None) -> datetime | None:
        """The earliest of `found` and the clocks' next unsent thresholds."""
        clock = life.next_reply
        if clock is not None and clock.thresholds:
            at = clock.thresholds[0][1] if not clock.sent else _next_unsent(NEXT_REPLY, clock)
            if at is not None and (found is None or at < found):
                found = at
        clock = life.resolution
        if clock is not None and clock.thresholds:
            at = clock.thresholds[0][1] if not clock.sent else _next_unsent(RESOLUTION, clock)
            if at is not None and (found is None or at < found):
                found = at
        return found


def _next_unsent(metric: str, clock: Clock) -> datetime | None:
    if not clock.sent:
        return clock.thresholds[0][1]
    key = _sent_key(metric, clock)
    for fraction, at in clock.thresholds:
        if (key, fraction) not in clock.sent:
            return at
    return None


def current_sent(metric: str, clock: Clock) -> list[float]:
    """Thresholds already raised against the clock's current deadline (next reply) or target
    (resolution)."""
    if not clock.sent:
        return []
    key = _sent_key(metric, clock)
    return [t for k, t in clock.sent if k == key]


def _sent_key(metric: str, clock: Clock) -> str:
    """What a sent threshold is remembered by: the deadline of a cycle (a priority change moves
    it), the target of the resolution clock (a pause moves its deadline, not its identity)."""
    if metric == NEXT_REPLY:
        assert clock.deadline is not None
        return format_instant(clock.deadline)
    return str(clock.target_seconds)


def _identity(metric: str, clock: Clock) -> tuple[str, ...]:
    if metric == NEXT_REPLY:
        assert clock.deadline is not None
        return (format_instant(clock.start), format_instant(clock.deadline))
    return (format_instant(clock.origin), str(clock.target_seconds))
