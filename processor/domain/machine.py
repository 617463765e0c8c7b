"""The SLA state machine (DESIGN section 3): pure, deterministic, no I/O, no wall clock.

`SlaMachine.apply(state, event, now)` folds one event into a ticket's state; `due(state,
watermark, now)` raises the alerts whose instant lies before the watermark. Both return an
`Outcome`: alerts to publish, whether to delete the state, and facts for metrics. The Faust worker
(wall-clock watermark carried by tick records) and `replay` (event-time watermark) both call it.

Time rules:
- An alert for instant X is raised only while the ticket is still awaiting its first response, and
  only once the watermark is past X (`X < watermark`; `inclusive=True` also raises `X == watermark`,
  used for `replay --until`).
- An event's own `occurred_at` is evidence that time has passed for its ticket: before an event is
  applied, thresholds before its `occurred_at` are raised (the ticket was still waiting then), and
  after a priority change the thresholds of the new deadline that lie before it are raised at once.

Tombstones: once a ticket stops (first public response, or solved / closed), its state shrinks to
a tombstone and every later event for it is ignored (a redelivered `ticket.created`, even with a
new event id, re-opens nothing) until the watermark passes `stopped_at` + the policy's
`tombstone_retention` (30 days by default); `due` then deletes it, and `next_due` gives that
instant, so the deadline index schedules the deletion. After that, the ticket is unknown: an event
for it starts afresh. Events that wait for their `ticket.created` expire after
`pending_event_retention` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from processor.domain.alerts import Alert, alert_id, clock_alert_id, format_instant, made_alert
from processor.domain.calendar import BusinessCalendar
from processor.domain.clocks import Lifecycle
from processor.domain.constants import STOP_STATUSES, TIERS
from processor.domain.events import (
    AgentResponded,
    Event,
    PriorityChanged,
    StatusChanged,
    TicketCreated,
    Tier,
    parse_event,
)
from processor.domain.lifecycle import NEXT_REPLY, RESOLUTION, LifecycleRules
from processor.domain.policy import Policy, Threshold
from processor.domain.state import TicketState

__all__ = ["Outcome", "SlaMachine", "StopRecord"]


@dataclass(frozen=True, slots=True)
class StopRecord:
    """One stop of one metric's clock (met or breached), for metrics and reports.

    `tier` and `priority` are the ticket's when the clock stopped; `target_seconds` is the
    target that applied; `at` the stop instant (a report's "time to stop" is
    `business_seconds`, a share of the target is `business_seconds / target_seconds`)."""

    tier: str
    priority: int
    business_seconds: float
    met: bool
    reason: str
    metric: str = "first_response"
    ticket_id: str = ""
    at: datetime | None = None
    target_seconds: int = 0


@dataclass(slots=True)
class Outcome:
    """What one call changed. `delete` means the ticket's state should be removed."""

    alerts: list[Alert] = field(default_factory=list)
    delete: bool = False
    duplicate: bool = False
    ignored: bool = False
    dropped: int = 0
    stops: list[StopRecord] = field(default_factory=list)
    """Clocks that stopped in this call (several metrics can stop on one event)."""


class SlaMachine(LifecycleRules):
    """Applies events and watermarks to ticket states under one policy."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._retention = policy.pending_event_retention
        self._tombstone = policy.tombstone_retention
        self._solved_retention = policy.solved_retention
        self._thresholds: dict[timedelta, list[Threshold]] = {}
        self._placings: dict[timedelta, tuple[tuple[float, ...], tuple[timedelta, ...]]] = {}
        self._calendars: dict[tuple[str, str, str | None], BusinessCalendar] = {}
        self._targets: dict[tuple[str, int, str], timedelta] = {}
        names = policy.metric_names
        self._next_reply, self._resolution = NEXT_REPLY in names, RESOLUTION in names
        self._lifecycle = len(names) > 1
        self._pause_on = policy.pause_on
        self._from_change = policy.on_priority_change == "from_change"
        self._country = policy.needs_country

    def apply(
        self,
        state: TicketState | None,
        event: Event,
        now: datetime,
        horizon: datetime | None = None,
    ) -> tuple[TicketState, Outcome]:
        """Fold `event` into `state` (None for an unknown ticket). `now` stamps raised alerts.
        On a stopped ticket (a tombstone) every event is ignored (or a duplicate).

        Thresholds before the event's `occurred_at` are raised first; `horizon` (the live
        worker's wall clock) caps that, so an event stamped in the future raises nothing early.
        """
        if state is None:
            state = TicketState(ticket_id=event.ticket_id)
        out = Outcome()
        event_id = event.event_id
        if event_id in state.seen:
            out.duplicate = True
            return state, out
        if state.phase == "stopped":
            out.ignored = True  # a tombstone never changes: its size stays bounded
            return state, out
        state.remember(event_id)
        if state.phase == "pending":
            self._apply_pending(state, event, now, out, horizon)
        else:
            self._apply_open(state, event, now, out, horizon)
        return state, out

    def due(
        self, state: TicketState, watermark: datetime, now: datetime, *, inclusive: bool = False
    ) -> Outcome:
        """Raise what is due before `watermark`; expire pending events (after
        `pending_event_retention`) and tombstones (after `tombstone_retention`)."""
        out = Outcome()
        if state.phase == "open":
            self._raise_due(state, watermark, now, out, inclusive=inclusive)
            life = self._life(state)
            if life is not None and life.solved_at is not None:
                solved_end = life.solved_at + self._solved_retention
                if _passed(solved_end, watermark, inclusive):
                    self._finalize(state, solved_end)
        elif state.phase == "pending":
            since = state.pending_since
            if since is not None and _passed(since + self._retention, watermark, inclusive):
                out.dropped = len(state.pending)
                out.delete = True
        else:
            final = _final_at(state)
            if final is not None and _passed(final + self._tombstone, watermark, inclusive):
                out.delete = True
        return out

    def next_due(self, state: TicketState) -> datetime | None:
        """The earliest instant at which `due` would change something, or None: over the
        metrics of an open ticket, the earliest threshold not yet raised (and the end of a
        solved ticket's `solved_retention`)."""
        if state.phase == "open":
            first = _next_first(state)
            life = state.life if self._lifecycle else None
            if life is None:
                return first
            found = self._next_clock_due(life, first)
            if life.solved_at is not None:
                end = life.solved_at + self._solved_retention
                found = end if found is None or end < found else found
            return found
        if state.phase == "pending":
            return None if state.pending_since is None else state.pending_since + self._retention
        final = _final_at(state)
        return None if final is None else final + self._tombstone

    def running(self, state: TicketState) -> list[str]:
        """The metrics whose clock is still running (or paused) on this ticket, for reports:
        it counts under its current tier and priority. A solved ticket's resolution clock has
        stopped (it resumes if the ticket is reopened)."""
        if state.phase != "open":
            return []
        names: list[str] = [self.policy.metric] if state.stopped_at is None else []
        life = self._life(state)
        if life is not None:
            if life.next_reply is not None:
                names.append(NEXT_REPLY)
            if life.resolution is not None and life.status != "solved":
                names.append(RESOLUTION)
        return names

    def _life(self, state: TicketState) -> Lifecycle | None:
        """The ticket's next-reply / resolution state, if this policy runs those metrics."""
        return state.life if self._lifecycle else None

    # -- phases -----------------------------------------------------------------------------

    def _apply_pending(
        self,
        state: TicketState,
        event: Event,
        now: datetime,
        out: Outcome,
        horizon: datetime | None,
    ) -> None:
        if not isinstance(event, TicketCreated):
            state.pending.append(event.model_dump_json())
            if state.pending_since is None or event.occurred_at < state.pending_since:
                state.pending_since = event.occurred_at
            return
        self._open(state, event)
        early = sorted((parse_event(raw) for raw in state.pending), key=lambda e: e.occurred_at)
        state.pending, state.pending_since = [], None
        for item in early:
            if state.phase == "open":
                self._apply_open(state, item, now, out, horizon)

    def _apply_open(
        self,
        state: TicketState,
        event: Event,
        now: datetime,
        out: Outcome,
        horizon: datetime | None,
    ) -> None:
        passed = event.occurred_at if horizon is None else min(event.occurred_at, horizon)
        self._raise_due(state, passed, now, out)
        life = state.life if self._lifecycle else None
        if life is not None:
            self._apply_life(state, life, event, now, out)
            if isinstance(event, PriorityChanged) and state.phase == "open":
                self._raise_due(state, passed, now, out)  # a retarget may put thresholds past
            return
        if isinstance(event, AgentResponded) and event.public:
            self._stop(state, event.occurred_at, "response", now, out)
        elif isinstance(event, StatusChanged) and event.status in STOP_STATUSES:
            self._stop(state, event.occurred_at, event.status, now, out)
        elif isinstance(event, PriorityChanged) and event.priority != state.priority:
            self._change_priority(state, event)
            self._raise_due(state, passed, now, out)
        else:
            out.ignored = True

    def _open(self, state: TicketState, event: TicketCreated) -> None:
        state.phase = "open"
        state.customer_id = event.customer_id
        state.tier = event.tier
        state.priority = event.priority
        state.timezone = event.timezone
        state.created_at = event.occurred_at
        state.origin = event.occurred_at
        if self._country:
            state.country = event.country
        self._set_deadline(state)
        if self._lifecycle:
            self._open_life(state, event.occurred_at)

    def _change_first(self, state: TicketState, event: PriorityChanged) -> None:
        self._change_priority(state, event)

    def _change_priority(self, state: TicketState, event: PriorityChanged) -> None:
        state.priority = event.priority
        if self.policy.on_priority_change == "from_change":
            assert state.created_at is not None
            state.origin = max(event.occurred_at, state.created_at)
        self._set_deadline(state)

    def _set_deadline(self, state: TicketState) -> None:
        assert state.origin is not None
        target = self._target(state, self.policy.metric)
        calendar = self._calendar_of(state)
        state.target_seconds = int(target.total_seconds())
        fractions, amounts = self._placing(target)
        instants = calendar.add_each(state.origin, amounts)
        state.deadline = instants[-1]
        state.thresholds = list(zip(fractions, instants, strict=False))  # all but the last

    def _target(self, state: TicketState, metric: str) -> timedelta:
        """`Policy.target`, looked up once per (tier, priority, metric)."""
        key = (state.tier, state.priority, metric)
        try:
            return self._targets[key]
        except KeyError:
            found = self._targets[key] = self.policy.target(_tier(state), state.priority, metric)
            return found

    def _calendar_of(self, state: TicketState) -> BusinessCalendar:
        """`Policy.calendar`, looked up once per (tier, zone, country) (the policy is
        immutable; the country is kept only when a calendar takes holidays from it)."""
        key = (state.tier, state.timezone, state.country)
        try:
            return self._calendars[key]
        except KeyError:
            found = self._calendars[key] = self.policy.calendar(_tier(state), *key[1:])
            return found

    def _thresholds_for(self, target: timedelta) -> list[Threshold]:
        """`Policy.thresholds_for`, computed once per target (the policy is immutable)."""
        found = self._thresholds.get(target)
        if found is None:
            found = self._thresholds[target] = self.policy.thresholds_for(target)
        return found

    def _placing(self, target: timedelta) -> tuple[tuple[float, ...], tuple[timedelta, ...]]:
        """The fractions of the thresholds for `target`, and the business times to place: each
        threshold's (ascending), then the target (the deadline); computed once per target."""
        found = self._placings.get(target)
        if found is None:
            thresholds = self._thresholds_for(target)
            found = (
                tuple(t.fraction for t in thresholds),
                (*(t.elapsed for t in thresholds), target),
            )
            self._placings[target] = found
        return found

    def _stop(
        self, state: TicketState, at: datetime, reason: str, now: datetime, out: Outcome
    ) -> None:
        """Stop the first response of a first-response-only ticket: it becomes a tombstone."""
        self._stop_first(state, at, reason, now, out)
        state.phase = "stopped"
        state.shrink()

    def _stop_first(
        self, state: TicketState, at: datetime, reason: str, now: datetime, out: Outcome
    ) -> None:
        assert state.created_at is not None
        stop = max(at, state.created_at)  # a response logged before creation counts as zero
        deadline = _deadline(state)
        elapsed = self._calendar_of(state).between(state.created_at, stop)
        state.stopped_at, state.stop_reason = stop, reason
        state.met = stop <= deadline
        self._stop_record(
            state, self.policy.metric, elapsed, state.target_seconds, state.met, reason, stop, out
        )
        if state.sent and not state.resolved_sent:
            state.resolved_sent = True
            out.alerts.append(self._alert(state, "sla.resolved", None, stop, now))
        # Only the running cycle's thresholds are kept: the first response's are done.
        state.thresholds, state.sent = [], []

    def _stop_record(
        self, state: TicketState, metric: str, spent: timedelta, target: int, met: bool,
        reason: str, at: datetime, out: Outcome,
    ) -> None:  # fmt: skip
        out.stops.append(
            StopRecord(
                state.tier,
                state.priority,
                spent.total_seconds(),
                met,
                reason,
                metric,
                state.ticket_id,
                at,
                target,
            )
        )

    def _finalize(self, state: TicketState, at: datetime) -> None:
        """Every metric is final: the row becomes a tombstone (deleted after the retention)."""
        assert state.life is not None
        state.phase, state.life.final_at = "stopped", at
        state.shrink()

    # -- alerts -----------------------------------------------------------------------------

    def _raise_due(
        self,
        state: TicketState,
        watermark: datetime,
        now: datetime,
        out: Outcome,
        *,
        inclusive: bool = False,
    ) -> None:
        if state.life is not None and self._lifecycle:
            self._raise_clocks(state, state.life, watermark, now, out, inclusive)
        thresholds = state.thresholds
        if not thresholds or (
            thresholds[0][1] > watermark if inclusive else thresholds[0][1] >= watermark
        ):
            return  # nothing due (most calls)
        deadline = _deadline(state)
        current: str | None = None  # the deadline in RFC 3339, formatted once when needed
        for fraction, at in thresholds:
            if not (at <= watermark if inclusive else at < watermark):
                break
            current = current or format_instant(deadline)
            if (current, fraction) in state.sent:
                continue
            kind = "sla.breached" if fraction >= 1.0 else "sla.near_breach"
            out.alerts.append(self._alert(state, kind, fraction, at, now, current))
            state.sent.append((current, fraction))

    def _alert(
        self,
        state: TicketState,
        kind: str,
        fraction: float | None,
        due_at: datetime,
        now: datetime,
        deadline_text: str | None = None,
    ) -> Alert:
        """`deadline_text`: the deadline formatted already (`format_instant`), if it was."""
        deadline = _deadline(state)
        metric = self.policy.metric
        if fraction is None or deadline_text is None:
            ident = alert_id(state.ticket_id, metric, deadline, fraction)
        else:
            ident = clock_alert_id(state.ticket_id, metric, (deadline_text,), fraction)
        target = state.target_seconds
        return self._make_alert(state, metric, kind, fraction, due_at, deadline, target, ident, now)

    def _make_alert(
        self, state: TicketState, metric: str, kind: str, fraction: float | None,
        due_at: datetime, deadline: datetime, target: int, alert_id: str, now: datetime,
    ) -> Alert:  # fmt: skip
        return made_alert(
            kind, alert_id, state.ticket_id, state.customer_id, state.tier, state.priority, metric,
            fraction, due_at, deadline, target, self.policy.version, now,
        )  # fmt: skip


def _passed(at: datetime, watermark: datetime, inclusive: bool) -> bool:
    return at <= watermark if inclusive else at < watermark


def _next_first(state: TicketState) -> datetime | None:
    """The first-response threshold `due` would raise next."""
    if not state.sent:
        return state.thresholds[0][1] if state.thresholds else None
    current = format_instant(_deadline(state))
    for fraction, at in state.thresholds:
        if (current, fraction) not in state.sent:
            return at
    return None


def _final_at(state: TicketState) -> datetime | None:
    """When a tombstone's ticket became final (its first response, or its close)."""
    if state.life is not None and state.life.final_at is not None:
        return state.life.final_at
    return state.stopped_at


def _deadline(state: TicketState) -> datetime:
    assert state.deadline is not None
    return state.deadline


def _tier(state: TicketState) -> Tier:
    assert state.tier in TIERS  # narrows the type to Tier
    return state.tier
