"""Tombstones: a stopped ticket ignores every later event for the policy's `tombstone_retention`
(30 days of event time by default), then is deleted; its state is small and bounded; rows written
by the previous release still load."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from sla_helpers import created, ev, replay, z

from processor.domain.events import Event
from processor.domain.machine import SlaMachine
from processor.domain.policy import Policy, PolicyError, default_policy, parse_policy
from processor.domain.state import TOMBSTONE_SEEN_IDS, TicketState
from processor.worker.rows import decode_head, decode_state, encode_row
from processor.worker.service import klass_of
from processor.worker.web import ticket_view

T0 = "2026-03-02T09:00:00Z"
ANSWERED = z("2026-03-02T09:05:00Z")  # gold P1: 30 min target, answered before any threshold

# Rows exactly as the release before tombstone_retention wrote them (encode_row of the states
# SlaMachine gave): a stopped ticket that had three alerts and four events, an open one with one
# alert sent, and one whose events wait for their ticket.created.
LEGACY_STOPPED = (
    b'3 2026-03-09T15:30:00+00:00 - {"ticket_id":"SIM-a-000123","phase":"stopped",'
    b'"customer_id":"c-1","tier":"gold","priority":1,"timezone":"America/New_York",'
    b'"created_at":"2026-03-02T14:00:00+00:00","origin":"2026-03-02T14:00:00+00:00",'
    b'"target_seconds":1800,"deadline":"2026-03-02T14:30:00+00:00","thresholds":[],'
    b'"sent":[["2026-03-02T14:30:00Z",0.75],["2026-03-02T14:30:00Z",0.9],'
    b'["2026-03-02T14:30:00Z",1.0]],"stopped_at":"2026-03-02T15:30:00+00:00",'
    b'"stop_reason":"response","met":false,"resolved_sent":true,"pending":[],'
    b'"pending_since":null,"seen":["SIM-a-000123-1","SIM-a-000123-2","SIM-a-000123-3",'
    b'"SIM-a-000123-4"]}'
)
LEGACY_OPEN = (
    b'2 2026-03-02T16:12:00+00:00 silver:3:at_risk {"ticket_id":"T-7","phase":"open",'
    b'"customer_id":"c-1","tier":"silver","priority":3,"timezone":"UTC",'
    b'"created_at":"2026-03-02T09:00:00+00:00","origin":"2026-03-02T09:00:00+00:00",'
    b'"target_seconds":28800,"deadline":"2026-03-02T17:00:00+00:00","thresholds":'
    b'[[0.75,"2026-03-02T15:00:00+00:00"],[0.9,"2026-03-02T16:12:00+00:00"],'
    b'[1.0,"2026-03-02T17:00:00+00:00"]],"sent":[["2026-03-02T17:00:00Z",0.75]],'
    b'"stopped_at":null,"stop_reason":null,"met":null,"resolved_sent":false,"pending":[],'
    b'"pending_since":null,"seen":["T-7-1","T-7-2"]}'
)
LEGACY_PENDING = (
    b'1 2026-03-09T09:00:00+00:00 - {"ticket_id":"T-9","phase":"pending","customer_id":"",'
    b'"tier":"","priority":0,"timezone":"UTC","created_at":null,"origin":null,'
    b'"target_seconds":0,"deadline":null,"thresholds":[],"sent":[],"stopped_at":null,'
    b'"stop_reason":null,"met":null,"resolved_sent":false,"pending":["{\\"event_id\\":'
    b'\\"T-9-1\\",\\"ticket_id\\":\\"T-9\\",\\"occurred_at\\":\\"2026-03-02T09:00:00Z\\",'
    b'\\"type\\":\\"ticket.status_changed\\",\\"status\\":\\"pending\\"}"],'
    b'"pending_since":"2026-03-02T09:00:00+00:00","seen":["T-9-1"]}'
)


def policy_with(line: str) -> Policy:
    text = files("processor.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8")
    key = line.split(":")[0]
    kept = [row for row in text.splitlines() if not row.startswith(f"{key}:")]
    return parse_policy("\n".join([*kept, line]) + "\n")


def answered(machine: SlaMachine, ticket: str = "X") -> TicketState:
    """A gold P1 ticket created at T0 and answered 5 minutes later (no alert)."""
    state, _ = machine.apply(None, created(ticket, T0, "gold", 1), z(T0))
    state, out = machine.apply(state, ev("agent_responded", ticket, ANSWERED.isoformat()), ANSWERED)
    assert state.phase == "stopped" and [s.met for s in out.stops] == [True]
    return state


def redelivered(ticket: str = "X") -> Event:
    """The ticket's `ticket.created` again, under a new event id (a re-export, a helpdesk retry)."""
    return created(ticket, T0, "gold", 1)


@pytest.mark.parametrize("days", [8, 29])
def test_machine_ignores_a_redelivered_creation_within_the_horizon(days: int) -> None:
    machine = SlaMachine(default_policy())
    state = answered(machine)
    later = ANSWERED + timedelta(days=days)
    assert not machine.due(state, later, later).delete
    state, out = machine.apply(state, redelivered(), later, horizon=later)
    assert out.ignored and out.alerts == []
    out = machine.due(state, later + timedelta(hours=1), later)
    assert state.phase == "stopped" and out.alerts == [] and not out.delete
    assert machine.next_due(state) == ANSWERED + timedelta(days=30)


@pytest.mark.parametrize("days", [8, 29])
def test_replay_ignores_a_redelivered_creation_within_the_horizon(days: int) -> None:
    later = ANSWERED + timedelta(days=days)
    alerts = replay(
        [
            created("X", T0, "gold", 1),
            ev("agent_responded", "X", ANSWERED.isoformat()),
            created("Y", later.isoformat(), "basic", 4),  # moves the watermark `days` on,
            created("Y2", (later + timedelta(minutes=1)).isoformat(), "basic", 4),  # confirmed
            redelivered("X"),
        ],
        until=(later + timedelta(hours=2)).isoformat(),
    )
    assert [a for a in alerts if a.ticket_id == "X"] == []


def test_tombstone_is_deleted_once_the_horizon_has_passed() -> None:
    machine = SlaMachine(default_policy())
    state = answered(machine)
    horizon = ANSWERED + timedelta(days=30)
    assert machine.next_due(state) == horizon  # the deadline index schedules the deletion
    assert not machine.due(state, horizon, horizon).delete  # not yet passed
    assert machine.due(state, horizon, horizon, inclusive=True).delete
    assert machine.due(state, horizon + timedelta(seconds=1), horizon).delete


def test_after_the_horizon_replay_forgets_the_ticket() -> None:
    """29 days on, the redelivery is ignored; 31 days on, the ticket is unknown and starts afresh
    (the documented end of the guarantee)."""
    day29, day31 = ANSWERED + timedelta(days=29), ANSWERED + timedelta(days=31)
    events = [
        created("X", T0, "gold", 1),
        ev("agent_responded", "X", ANSWERED.isoformat()),
        created("Y", day29.isoformat(), "basic", 4),
        created("Y2", (day29 + timedelta(minutes=1)).isoformat(), "basic", 4),  # a real jump
        redelivered("X"),
        ev("agent_responded", "Y", (day29 + timedelta(hours=1)).isoformat(), public=False),
        created("W", day31.isoformat(), "basic", 4),
        created("W2", (day31 + timedelta(minutes=1)).isoformat(), "basic", 4),
        redelivered("X"),
    ]
    alerts = replay(events, until=(day31 + timedelta(hours=1)).isoformat())
    x = [(a.type, a.threshold) for a in alerts if a.ticket_id == "X"]
    assert x == [("sla.near_breach", 0.75), ("sla.near_breach", 0.9), ("sla.breached", 1.0)]
    assert all(a.emitted_at > day31 for a in alerts if a.ticket_id == "X")


def test_the_policy_sets_the_horizon() -> None:
    assert default_policy().tombstone_retention == timedelta(days=30)
    policy = policy_with("tombstone_retention: 10d")
    machine = SlaMachine(policy)
    state = answered(machine)
    assert machine.next_due(state) == ANSWERED + timedelta(days=10)
    nine, eleven = ANSWERED + timedelta(days=9), ANSWERED + timedelta(days=11)
    assert not machine.due(state, nine, nine).delete
    assert machine.due(state, eleven, eleven).delete
    # The same horizon in replay: 11 days on, the ticket is forgotten and re-opens.
    events = [
        created("X", T0, "gold", 1),
        ev("agent_responded", "X", ANSWERED.isoformat()),
        created("Y", eleven.isoformat(), "basic", 4),
        created("Y2", (eleven + timedelta(minutes=1)).isoformat(), "basic", 4),  # a real jump
        redelivered("X"),
    ]
    alerts = replay(events, until=(eleven + timedelta(hours=1)).isoformat(), policy=policy)
    assert {a.type for a in alerts if a.ticket_id == "X"} == {"sla.near_breach", "sla.breached"}


def test_a_zero_horizon_is_refused() -> None:
    with pytest.raises(PolicyError, match="tombstone_retention: must be longer than 0"):
        policy_with("tombstone_retention: 0")


def busy_ticket(machine: SlaMachine) -> tuple[TicketState, list[str]]:
    """Gold P2 in New York: a priority change, an internal note, three alerts, then answered."""
    steps = [
        created("B", "2026-03-02T09:00:00-05:00", "gold", 2, tz="America/New_York"),
        ev("priority_changed", "B", "2026-03-02T09:10:00-05:00", priority=1),
        ev("agent_responded", "B", "2026-03-02T09:20:00-05:00", public=False),
        ev("agent_responded", "B", "2026-03-02T10:30:00-05:00", public=True),
    ]
    state: TicketState | None = None
    kinds: list[str] = []
    for event in steps:
        state, out = machine.apply(state, event, event.occurred_at)
        kinds += [a.type for a in out.alerts]
    assert state is not None
    return state, kinds


def test_a_stopped_ticket_keeps_only_its_tombstone() -> None:
    machine = SlaMachine(default_policy())
    state, kinds = busy_ticket(machine)
    assert kinds == ["sla.near_breach", "sla.near_breach", "sla.breached", "sla.resolved"]
    assert state.phase == "stopped" and state.resolved_sent and state.met is False
    assert (state.thresholds, state.sent, state.pending, state.origin) == ([], [], [], None)
    assert len(state.seen) <= TOMBSTONE_SEEN_IDS
    # What /tickets/{id} shows of a stopped ticket is still there.
    assert (state.tier, state.priority, state.timezone, state.target_seconds) == (
        "gold",
        1,
        "America/New_York",
        1800,
    )
    assert state.deadline == z("2026-03-02T14:30:00Z")
    assert state.stopped_at == z("2026-03-02T15:30:00Z") and state.stop_reason == "response"


def test_a_tombstone_does_not_grow_with_later_events() -> None:
    machine = SlaMachine(default_policy())
    state, _ = busy_ticket(machine)
    row = encode_row(0, machine.next_due(state), klass_of(state), state)
    at = z("2026-03-03T00:00:00Z")
    for _ in range(300):
        state, out = machine.apply(state, ev("agent_responded", "B", at.isoformat()), at)
        assert out.ignored
    assert encode_row(0, machine.next_due(state), klass_of(state), state) == row


def legacy_from_dict(data: dict[str, Any]) -> TicketState:
    """`TicketState.from_dict` of the previous release: it needs every key."""
    # The fields of that release: `country` and `life` came later and are written only when used.
    keys = [f.name for f in TicketState.__dataclass_fields__.values()]
    keys = [key for key in keys if key not in ("country", "life")]
    fields = {key: data[key] for key in keys}
    for key in ("created_at", "origin", "deadline", "stopped_at", "pending_since"):
        fields[key] = None if fields[key] is None else datetime.fromisoformat(fields[key])
    fields["thresholds"] = [(f, datetime.fromisoformat(d)) for f, d in data["thresholds"]]
    fields["sent"] = [(d, t) for d, t in data["sent"]]
    return TicketState(**fields)


def test_the_previous_release_can_read_a_new_tombstone() -> None:
    """During a rolling upgrade an older worker may take over a partition."""
    machine = SlaMachine(default_policy())
    state, _ = busy_ticket(machine)
    old = legacy_from_dict(state.to_dict())
    assert old.phase == "stopped" and old.resolved_sent and old.sent == []
    assert old.stopped_at == state.stopped_at and old.deadline == state.deadline


def test_a_legacy_tombstone_row_loads_shrunk_and_keeps_its_guarantee() -> None:
    machine = SlaMachine(default_policy())
    state = decode_state(LEGACY_STOPPED)
    assert state.phase == "stopped" and state.resolved_sent and state.met is False
    assert state.sent == [] and state.origin is None and len(state.seen) <= TOMBSTONE_SEEN_IDS
    assert state.has_seen("SIM-a-000123-4")  # a redelivery of the answer is still a duplicate
    assert (state.customer_id, state.tier, state.priority) == ("c-1", "gold", 1)
    # The old row asked to be woken 7 days on; the tombstone now stays for 30.
    stopped = z("2026-03-02T15:30:00Z")
    assert decode_head(LEGACY_STOPPED)[1] == stopped + timedelta(days=7)
    later = stopped + timedelta(days=8)
    assert not machine.due(state, later, later).delete
    assert machine.next_due(state) == stopped + timedelta(days=30)
    redo = created("SIM-a-000123", "2026-03-02T09:00:00-05:00", "gold", 2, tz="America/New_York")
    state, out = machine.apply(state, redo, later, horizon=later)
    assert out.ignored and out.alerts == [] and state.phase == "stopped"
    assert len(encode_row(3, machine.next_due(state), None, state)) < len(LEGACY_STOPPED)


def test_a_legacy_open_row_goes_on_and_stops_into_a_tombstone() -> None:
    machine = SlaMachine(default_policy())
    state = decode_state(LEGACY_OPEN)
    assert decode_head(LEGACY_OPEN) == (2, z("2026-03-02T16:12:00Z"), "silver:3:at_risk")
    out = machine.due(state, z("2026-03-02T16:13:00Z"), z("2026-03-02T16:13:00Z"))
    assert [(a.type, a.threshold) for a in out.alerts] == [("sla.near_breach", 0.9)]
    answer = z("2026-03-02T16:30:00Z")
    state, out = machine.apply(state, ev("agent_responded", "T-7", answer.isoformat()), answer)
    assert [a.type for a in out.alerts] == ["sla.resolved"] and state.sent == []
    later = answer + timedelta(days=8)
    state, out = machine.apply(state, created("T-7", T0, "silver", 3), later, horizon=later)
    assert out.ignored and not machine.due(state, later, later).delete


def test_a_legacy_pending_row_opens_and_its_tombstone_lasts() -> None:
    machine = SlaMachine(default_policy())
    state = decode_state(LEGACY_PENDING)
    assert state.phase == "pending" and len(state.pending) == 1
    state, _ = machine.apply(state, created("T-9", "2026-03-02T09:01:00Z", "gold", 1), z(T0))
    assert state.phase == "open" and state.created_at == z("2026-03-02T09:01:00Z")
    answer = z("2026-03-02T09:10:00Z")
    state, out = machine.apply(state, ev("agent_responded", "T-9", answer.isoformat()), answer)
    assert [s.met for s in out.stops] == [True]
    later = answer + timedelta(days=8)
    state, out = machine.apply(state, created("T-9", T0, "gold", 1), later, horizon=later)
    assert out.ignored and not machine.due(state, later, later).delete


def test_ticket_view_of_a_tombstone() -> None:
    """What `/tickets/{id}` shows of a stopped ticket survives the shrinking; the list of alerts
    sent does not (`resolved_sent` says the ticket had alerted)."""
    machine = SlaMachine(default_policy())
    state, _ = busy_ticket(machine)
    view = ticket_view(decode_state(encode_row(0, None, None, state)), machine, z(T0))
    assert view == {
        "ticket_id": "B",
        "state": "stopped",
        "customer_id": "c-1",
        "tier": "gold",
        "priority": 1,
        "timezone": "America/New_York",
        "created_at": "2026-03-02T14:00:00Z",
        "deadline": "2026-03-02T14:30:00Z",
        "target_seconds": 1800,
        "alerts_sent": [],
        "resolved_sent": True,
        "stopped_at": "2026-03-02T15:30:00Z",
        "stop_reason": "response",
        "met": False,
        "policy_version": default_policy().version,
    }
