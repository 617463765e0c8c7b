"""The SLA core at its boundaries, one instant apart (docs/mutation.md: these kill mutants that
the worked examples let live).

A gold P1 ticket created at 10:00Z (24x7, 30 min target) is due 75% at 10:22:30, 90% at 10:27
and breaches at 10:30. A response exactly at the deadline is met; a response exactly at a
threshold instant prevents that alert; an alert for X is raised only once the watermark is
strictly past X (at X too with `inclusive`, as `replay --until` does).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sla_helpers import created, ev, policy_with, z

from processor.domain.events import Event
from processor.domain.machine import Outcome, SlaMachine
from processor.domain.policy import default_policy
from processor.domain.state import TicketState

T0 = z("2026-03-02T10:00:00Z")  # a Monday
US = timedelta(microseconds=1)
AT_75, AT_90, DEADLINE = (
    T0 + timedelta(minutes=22, seconds=30),
    T0 + timedelta(minutes=27),
    T0 + timedelta(minutes=30),
)
NOW = z("2026-03-02T12:00:00Z")  # stamps alerts; never decides what is due


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def opened(machine: SlaMachine | None = None, ticket: str = "X") -> tuple[SlaMachine, TicketState]:
    machine = machine or SlaMachine(default_policy())
    state, out = machine.apply(None, created(ticket, iso(T0), "gold", 1), T0)
    assert out.alerts == [] and state.phase == "open"
    return machine, state


def kinds(out: Outcome) -> list[tuple[str, float | None]]:
    return [(a.type, a.threshold) for a in out.alerts]


def note(at: datetime, event_id: str | None = None) -> Event:
    """An internal note: an event that stops no clock, only shows that time has passed."""
    extra = {} if event_id is None else {"event_id": event_id}
    return ev("agent_responded", "X", iso(at), public=False, **extra)


def respond(at: datetime) -> tuple[TicketState, Outcome]:
    machine, state = opened()
    return machine.apply(state, ev("agent_responded", "X", iso(at)), NOW)


# -- the deadline ------------------------------------------------------------------------------


def test_a_response_exactly_at_the_deadline_is_met() -> None:
    _, out = respond(DEADLINE)
    assert [(s.met, s.reason, s.at, s.business_seconds) for s in out.stops] == [
        (True, "response", DEADLINE, 1800.0)
    ]
    assert [(s.metric, s.ticket_id, s.tier, s.priority) for s in out.stops] == [
        ("first_response", "X", "gold", 1)
    ]
    # Both near-breaches were due before 10:30; the breach at 10:30 is not (not yet past it).
    assert kinds(out) == [
        ("sla.near_breach", 0.75),
        ("sla.near_breach", 0.9),
        ("sla.resolved", None),
    ]


def test_a_response_just_before_the_deadline_is_met() -> None:
    _, out = respond(DEADLINE - US)
    assert [s.met for s in out.stops] == [True]
    assert "sla.breached" not in [a.type for a in out.alerts]


def test_a_response_just_after_the_deadline_is_a_breach() -> None:
    _, out = respond(DEADLINE + US)
    assert [s.met for s in out.stops] == [False]
    assert kinds(out) == [
        ("sla.near_breach", 0.75),
        ("sla.near_breach", 0.9),
        ("sla.breached", 1.0),
        ("sla.resolved", None),
    ]
    resolved = out.alerts[-1]
    assert resolved.due_at == DEADLINE + US and resolved.deadline == DEADLINE


def test_a_close_exactly_at_the_deadline_is_met_and_just_after_is_not() -> None:
    for at, met in ((DEADLINE, True), (DEADLINE + US, False)):
        machine, state = opened()
        state, out = machine.apply(state, ev("status_changed", "X", iso(at), status="closed"), NOW)
        assert [(s.met, s.reason, s.at) for s in out.stops] == [(met, "closed", at)]
        assert state.phase == "stopped"


# -- a threshold -------------------------------------------------------------------------------


def test_a_response_exactly_at_a_threshold_prevents_it() -> None:
    _, out = respond(AT_75)
    assert out.alerts == []  # nothing was sent, so no sla.resolved either
    assert [(s.met, s.at) for s in out.stops] == [(True, AT_75)]


def test_a_response_just_after_a_threshold_raises_it_then_resolves() -> None:
    _, out = respond(AT_75 + US)
    assert kinds(out) == [("sla.near_breach", 0.75), ("sla.resolved", None)]
    near = out.alerts[0]
    assert near.due_at == AT_75 and near.deadline == DEADLINE and near.emitted_at == NOW
    assert near.target_seconds == 1800 and near.policy_version == default_policy().version


def test_the_watermark_at_a_threshold_raises_nothing_just_past_it_raises_it() -> None:
    machine, state = opened()
    assert machine.due(state, AT_75, NOW).alerts == []
    assert machine.next_due(state) == AT_75
    out = machine.due(state, AT_75 + US, NOW)
    assert kinds(out) == [("sla.near_breach", 0.75)] and out.delete is False
    assert machine.next_due(state) == AT_90
    assert machine.due(state, AT_75 + US, NOW).alerts == []  # raised once


def test_inclusive_raises_what_is_due_exactly_at_the_watermark() -> None:
    machine, state = opened()
    assert kinds(machine.due(state, AT_90, NOW, inclusive=True)) == [
        ("sla.near_breach", 0.75),
        ("sla.near_breach", 0.9),
    ]
    assert machine.due(state, DEADLINE, NOW).alerts == []
    assert kinds(machine.due(state, DEADLINE, NOW, inclusive=True)) == [("sla.breached", 1.0)]
    assert machine.next_due(state) is None  # all three sent for this deadline


def test_an_event_exactly_at_a_threshold_does_not_raise_it() -> None:
    # Evidence that time has passed reaches up to, not including, the event's own instant.
    machine, state = opened()
    state, out = machine.apply(state, note(AT_90), NOW)
    assert kinds(out) == [("sla.near_breach", 0.75)] and out.ignored is True
    state, out = machine.apply(state, note(AT_90 + US), NOW)
    assert kinds(out) == [("sla.near_breach", 0.9)]


def test_the_horizon_caps_what_an_event_from_the_future_raises() -> None:
    machine, state = opened()
    late = note(DEADLINE + timedelta(hours=1))
    state, out = machine.apply(state, late, NOW, horizon=AT_75)
    assert out.alerts == []  # the horizon at 10:22:30 is not past 10:22:30
    state, out = machine.apply(state, note(DEADLINE), NOW, AT_90 + US)
    assert kinds(out) == [("sla.near_breach", 0.75), ("sla.near_breach", 0.9)]


def test_a_threshold_before_the_deadline_is_due_that_long_before() -> None:
    policy = policy_with(thresholds=[{"before": "5m"}])
    machine, state = opened(SlaMachine(policy))
    five_before = DEADLINE - timedelta(minutes=5)
    assert machine.next_due(state) == five_before
    assert machine.due(state, five_before, NOW).alerts == []
    out = machine.due(state, DEADLINE + US, NOW)
    assert [(a.type, round(a.threshold or 0, 4)) for a in out.alerts] == [
        ("sla.near_breach", 0.8333),
        ("sla.breached", 1.0),
    ]


# -- priority changes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "deadline"),
    [
        # gold P1 -> P2 (1h) at 10:10: from creation 11:00, from the change 11:10.
        ("from_creation", T0 + timedelta(hours=1)),
        ("from_change", T0 + timedelta(hours=1, minutes=10)),
    ],
)
def test_a_priority_change_sets_the_deadline_by_the_policy_mode(
    mode: str, deadline: datetime
) -> None:
    machine = SlaMachine(policy_with(on_priority_change=mode))
    change = ev("priority_changed", "X", iso(T0 + timedelta(minutes=10)), priority=2)

    _, state = opened(machine)
    state, out = machine.apply(state, change, NOW)
    assert out.alerts == []
    start = deadline - timedelta(hours=1)
    assert machine.next_due(state) == start + timedelta(minutes=45)
    out = machine.due(state, deadline + US, NOW)
    assert [(a.type, a.due_at, a.deadline, a.priority, a.target_seconds) for a in out.alerts] == [
        ("sla.near_breach", start + timedelta(minutes=45), deadline, 2, 3600),
        ("sla.near_breach", start + timedelta(minutes=54), deadline, 2, 3600),
        ("sla.breached", deadline, deadline, 2, 3600),
    ]

    for at, met in ((deadline, True), (deadline + US, False)):
        _, state = opened(machine)
        state, _ = machine.apply(state, change, NOW)
        _, out = machine.apply(state, ev("agent_responded", "X", iso(at)), NOW)
        assert [(s.met, s.priority, s.target_seconds) for s in out.stops] == [(met, 2, 3600)]


def test_from_change_never_counts_from_before_the_creation() -> None:
    # A priority change stamped before the ticket's creation counts from the creation:
    # P2 (1h) from 10:00, 75% at 10:45.
    machine, state = opened(SlaMachine(policy_with(on_priority_change="from_change")))
    early = T0 - timedelta(minutes=5)
    state, _ = machine.apply(state, ev("priority_changed", "X", iso(early), priority=2), NOW)
    assert machine.next_due(state) == T0 + timedelta(minutes=45)
    out = machine.due(state, T0 + timedelta(hours=1, microseconds=1), NOW)
    assert [a.deadline for a in out.alerts] == [T0 + timedelta(hours=1)] * 3


def test_an_upgrade_raises_the_new_thresholds_already_behind_the_event() -> None:
    # gold P2 (1h) created 10:00, upgraded to P1 (30 min) at 10:27 (from creation): 75% at
    # 10:22:30 is behind 10:27 and is raised at once; 90% at 10:27 is not past 10:27.
    machine = SlaMachine(default_policy())
    state, _ = machine.apply(None, created("X", iso(T0), "gold", 2), T0)
    state, out = machine.apply(state, ev("priority_changed", "X", iso(AT_90), priority=1), NOW)
    assert [(a.type, a.threshold, a.due_at, a.deadline) for a in out.alerts] == [
        ("sla.near_breach", 0.75, AT_75, DEADLINE)
    ]
    assert machine.next_due(state) == AT_90


def test_the_same_priority_again_changes_nothing() -> None:
    machine, state = opened()
    state, out = machine.apply(state, ev("priority_changed", "X", iso(AT_75), priority=1), NOW)
    assert out.alerts == [] and machine.next_due(state) == AT_75
    assert [a.deadline for a in machine.due(state, DEADLINE + US, NOW).alerts] == [DEADLINE] * 3


def test_a_new_deadline_raises_its_own_alerts_after_the_old_ones() -> None:
    # 75% of the P1 deadline is raised at 10:23; the downgrade to P2 (from creation: 11:00)
    # at 10:24 has its own 75% at 10:45, a new identity, raised once the watermark passes it.
    machine, state = opened()
    assert kinds(machine.due(state, AT_75 + US, NOW)) == [("sla.near_breach", 0.75)]
    change = T0 + timedelta(minutes=24)
    state, out = machine.apply(state, ev("priority_changed", "X", iso(change), priority=2), NOW)
    assert out.alerts == []
    assert machine.next_due(state) == T0 + timedelta(minutes=45)
    out = machine.due(state, T0 + timedelta(minutes=45, microseconds=1), NOW)
    assert [(a.threshold, a.deadline) for a in out.alerts] == [(0.75, T0 + timedelta(hours=1))]


# -- duplicates, tombstones, pending events ------------------------------------------------------


def test_a_duplicate_event_is_reported_and_changes_nothing() -> None:
    machine, state = opened()
    comment = note(AT_75 + US, "c-1")
    state, out = machine.apply(state, comment, NOW)
    assert kinds(out) == [("sla.near_breach", 0.75)] and out.duplicate is False
    state, out = machine.apply(state, comment, NOW)
    assert out.duplicate is True and out.alerts == [] and out.ignored is False
    again = ev("agent_responded", "X", iso(AT_90), event_id="c-1")  # same id, other content
    state, out = machine.apply(state, again, NOW)
    assert out.duplicate is True and state.phase == "open"


def test_the_tombstone_is_deleted_once_the_watermark_is_past_its_horizon() -> None:
    state, _ = respond(AT_75)
    machine = SlaMachine(default_policy())
    horizon = AT_75 + timedelta(days=30)
    assert machine.next_due(state) == horizon
    assert machine.due(state, horizon, NOW).delete is False
    assert machine.due(state, horizon + US, NOW).delete is True
    assert machine.due(state, horizon, NOW, inclusive=True).delete is True


def test_a_tombstone_ignores_a_response_and_a_new_creation() -> None:
    state, _ = respond(AT_75)
    machine = SlaMachine(default_policy())
    for event in (
        ev("agent_responded", "X", iso(DEADLINE + US)),
        created("X", iso(DEADLINE), "gold", 1),
    ):
        state, out = machine.apply(state, event, NOW)
        assert out.ignored is True and out.duplicate is False and out.alerts == []
        assert out.stops == [] and machine.next_due(state) == AT_75 + timedelta(days=30)


def test_a_tombstone_horizon_follows_the_policy() -> None:
    machine = SlaMachine(policy_with(tombstone_retention="2d"))
    _, state = opened(machine)
    state, _ = machine.apply(state, ev("agent_responded", "X", iso(AT_75)), NOW)
    assert machine.due(state, AT_75 + timedelta(days=2), NOW).delete is False
    assert machine.next_due(state) == AT_75 + timedelta(days=2)
    assert machine.due(state, AT_75 + timedelta(days=2) + US, NOW).delete is True


def test_pending_events_expire_after_the_retention_from_the_earliest() -> None:
    machine = SlaMachine(policy_with(pending_event_retention="1d"))
    state, out = machine.apply(None, note(T0 + US), NOW)
    assert (
        state.phase == "pending"
        and out.alerts == []
        and machine.next_due(state) == T0 + (timedelta(days=1) + US)
    )
    state, _ = machine.apply(state, note(T0), NOW)  # earlier one
    state, _ = machine.apply(state, note(T0 + timedelta(hours=1)), NOW)
    expiry = T0 + timedelta(days=1)
    assert machine.next_due(state) == expiry
    assert machine.due(state, expiry, NOW).delete is False
    out = machine.due(state, expiry + US, NOW)
    assert out.delete is True and out.dropped == 3
    assert machine.due(state, expiry, NOW, inclusive=True).dropped == 3


def test_pending_events_are_applied_in_time_order_at_the_creation() -> None:
    # The response (10:27) arrives first, a comment at 10:25 after it; at the creation both are
    # applied by occurred_at: the comment raises 75%, the response then stops at 10:27 (no 90%).
    machine = SlaMachine(default_policy())
    state, _ = machine.apply(None, ev("agent_responded", "X", iso(AT_90)), NOW)
    state, _ = machine.apply(state, note(AT_90 - timedelta(minutes=2)), NOW)
    assert machine.due(state, DEADLINE + timedelta(days=1), NOW).alerts == []
    state, out = machine.apply(state, created("X", iso(T0), "gold", 1), NOW)
    assert kinds(out) == [("sla.near_breach", 0.75), ("sla.resolved", None)]
    assert [(s.met, s.at) for s in out.stops] == [(True, AT_90)]
    assert state.phase == "stopped" and machine.next_due(state) == AT_90 + timedelta(days=30)


def test_a_response_before_the_creation_counts_as_zero_time() -> None:
    machine = SlaMachine(default_policy())
    state, _ = machine.apply(None, ev("agent_responded", "X", iso(T0 - timedelta(hours=1))), NOW)
    state, out = machine.apply(state, created("X", iso(T0), "gold", 1), NOW)
    assert [(s.met, s.business_seconds, s.at) for s in out.stops] == [(True, 0.0, T0)]
    assert out.alerts == []


def test_an_internal_response_does_not_stop_the_clock() -> None:
    machine, state = opened()
    state, out = machine.apply(state, ev("agent_responded", "X", iso(AT_75), public=False), NOW)
    assert state.phase == "open" and out.stops == [] and out.ignored is True
    for status in ("pending", "on_hold", "open"):
        state, out = machine.apply(state, ev("status_changed", "X", iso(AT_75), status=status), NOW)
        assert state.phase == "open" and out.stops == []
    state, out = machine.apply(state, ev("status_changed", "X", iso(AT_75), status="solved"), NOW)
    assert [(s.reason, s.met) for s in out.stops] == [("solved", True)]
