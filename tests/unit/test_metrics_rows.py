"""Ticket rows with next reply and resolution: old rows still load and behave, a
first-response-only row does not change, the row does not grow per cycle, the census and the
ticket view show each metric."""

from __future__ import annotations

from datetime import timedelta

from sla_helpers import created, ev, z
from test_metrics_examples import EXAMPLE
from test_tombstones import LEGACY_OPEN, LEGACY_PENDING, LEGACY_STOPPED

from processor.domain.events import Event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy, load_policy
from processor.domain.state import TicketState
from processor.worker.metrics import TicketCensus
from processor.worker.rows import decode_head, decode_state, encode_row
from processor.worker.table_store import klass_of
from processor.worker.web import ticket_view

ALL = SlaMachine(load_policy(EXAMPLE))


def fold(machine: SlaMachine, events: list[Event], state: TicketState | None = None) -> TicketState:
    for event in events:
        state, _ = machine.apply(state, event, event.occurred_at)
    assert state is not None
    return state


def row(machine: SlaMachine, state: TicketState) -> bytes:
    return encode_row(0, machine.next_due(state), klass_of(state), state)


def test_a_first_response_only_row_has_no_new_fields() -> None:
    machine = SlaMachine(default_policy())
    state = fold(machine, [created("T", "2026-03-02T09:00:00Z", "gold", 1, country="FR")])
    encoded = row(machine, state)
    assert b'"l":' not in encoded and b'"k":' not in encoded  # life, country (compact keys)
    assert encoded.startswith(b"0 2026-03-02T09:22:30Z gold:1:ok {")


def test_rows_of_the_previous_release_load_and_behave_under_all_metrics() -> None:
    # An open row written by today's worker (no `life`): it stays a first-response ticket,
    # so the response tombstones it as before, and nothing of next reply / resolution starts.
    state = decode_state(LEGACY_OPEN)
    assert state.life is None and ALL.running(state) == ["first_response"]
    assert ALL.next_due(state) == z("2026-03-02T16:12:00Z") == decode_head(LEGACY_OPEN)[1]
    state, out = ALL.apply(state, ev("agent_responded", "T-7", "2026-03-02T16:30:00Z"), z(T))
    assert [a.type for a in out.alerts] == ["sla.near_breach", "sla.resolved"]
    assert state.phase == "stopped" and [s.metric for s in out.stops] == ["first_response"]
    state, out = ALL.apply(state, ev("customer_replied", "T-7", "2026-03-02T17:00:00Z"), z(T))
    assert out.ignored and out.alerts == []
    # A stopped one is still a tombstone until its retention.
    stopped = decode_state(LEGACY_STOPPED)
    assert ALL.next_due(stopped) == z("2026-04-01T15:30:00Z")
    # Early events waiting for their ticket.created: the creation under this policy starts
    # every metric (the status event they held pauses resolution).
    pending = decode_state(LEGACY_PENDING)
    opened = fold(ALL, [created("T-9", "2026-03-02T08:00:00Z", "gold", 2)], pending)
    assert opened.life is not None and opened.life.status == "pending"
    assert ALL.running(opened) == ["first_response", "resolution"]
    assert opened.life.resolution is not None and not opened.life.resolution.running


T = "2026-03-02T18:00:00Z"


def cycles(n: int) -> list[Event]:
    """A gold P2 ticket, answered, then `n` next-reply cycles breached and answered."""
    events = [
        created("C", "2026-03-02T09:00:00Z", "gold", 2),
        ev("agent_responded", "C", "2026-03-02T09:10:00Z"),
    ]
    start = z("2026-03-02T10:00:00Z")
    for k in range(n):
        at = start + timedelta(hours=4 * k)
        events.append(ev("customer_replied", "C", at.isoformat()))
        events.append(ev("agent_responded", "C", (at + timedelta(hours=3)).isoformat()))
    return events


def test_the_row_keeps_the_running_cycle_only() -> None:
    one, many = fold(ALL, cycles(1)), fold(ALL, cycles(40))
    assert one.life is not None and one.life.next_reply is None
    # The resolution clock raised the same thresholds in both (1d target), so rows differ only
    # by the seen ids (bounded) and instants.
    assert len(row(ALL, many)) <= len(row(ALL, one)) + 2000
    assert len(many.seen) <= 256


def test_an_all_metrics_row_round_trips() -> None:
    events = cycles(1)
    events.append(ev("customer_replied", "C", "2026-03-02T15:00:00Z"))
    events.append(ev("status_changed", "C", "2026-03-02T15:30:00Z", status="pending"))
    state = fold(ALL, events)
    encoded = row(ALL, state)
    assert decode_state(encoded) == state
    assert decode_head(encoded)[2] == "next_reply:gold:2:ok,resolution:gold:2:ok"


def test_census_counts_each_metric() -> None:
    state = fold(ALL, [*cycles(1), ev("customer_replied", "C", "2026-03-02T15:00:00Z")])
    census = TicketCensus()
    census.set(0, "C", klass_of(state))
    census.set(0, "F", "gold:1:at_risk")  # a first-response-only row
    totals = census.totals()
    assert totals["next_reply:gold:2:ok"] == 1 and totals["resolution:gold:2:ok"] == 1
    assert totals["first_response:gold:1:at_risk"] == 1


def test_the_ticket_view_shows_each_metric() -> None:
    # Gold P2: first response met at 09:10; resolution paused at 12:00 with 3h spent of 24h;
    # a next-reply cycle running since 15:00 (2h target), 30 min in at 15:30.
    events = [
        *cycles(1)[:2],
        ev("status_changed", "C", "2026-03-02T12:00:00Z", status="pending"),
        ev("customer_replied", "C", "2026-03-02T15:00:00Z"),
    ]
    view = ticket_view(fold(ALL, events), ALL, z("2026-03-02T15:30:00Z"))
    assert view["state"] == "open" and view["status"] == "pending"
    metrics = view["metrics"]
    assert metrics["first_response"] == {"state": "met"}
    assert metrics["resolution"]["state"] == "paused"
    assert metrics["resolution"]["remaining_business_seconds"] == 21 * 3600
    assert metrics["next_reply"]["state"] == "running"
    assert metrics["next_reply"]["remaining_business_seconds"] == 5400
    assert metrics["next_reply"]["deadline"] == "2026-03-02T17:00:00Z"
