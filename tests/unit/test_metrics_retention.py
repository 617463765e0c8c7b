"""The solved retention, the tombstone of a closed ticket and the next due instant over both
clocks (processor/domain/lifecycle.py, machine.py), at their edges; found with mutation testing
(docs/mutation.md). Policy and targets: see test_metrics_lifecycle.py.
"""

from __future__ import annotations

from datetime import timedelta

from sla_helpers import ev, z
from test_metrics_examples import Run, answered
from test_metrics_lifecycle import at, life_of, resolution, state_of

from processor.domain.clocks import Clock
from processor.domain.lifecycle import NEXT_REPLY, RESOLUTION, current_sent

US = timedelta(microseconds=1)

# -- solved, reopened, closed ---------------------------------------------------------------


def test_reopened_into_a_pause_status_stays_paused() -> None:
    # Solved 15:00 (6h). "pending" at 18:00 reopens it but pauses it: no time counts until
    # "open" on Tue 09:00, then 18h left -> Wed 03:00.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("15:00:00"), status="solved"),
        ev("status_changed", "T", at("18:00:00"), status="pending"),
    )
    clock = resolution(run)
    assert not clock.running and life_of(run).solved_at is None
    run.feed(ev("status_changed", "T", at("09:00:00", "2026-03-03"), status="open"))
    assert clock.running and clock.deadline == z(at("03:00:00", "2026-03-04"))


def test_solved_then_closed_stops_the_resolution_once_and_is_final_at_the_close() -> None:
    # Solved 15:00 (6h = 21600 s, met); closed Tue 10:00 records no second stop; the
    # tombstone counts from the close: deleted after Tue 10:00 + 30d = 2026-04-02 10:00.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("15:00:00"), status="solved"),
        ev("status_changed", "T", at("10:00:00", "2026-03-03"), status="closed"),
    )
    assert run.stopped(RESOLUTION) == [(21600.0, True, "solved")]
    state, gone = state_of(run), z("2026-04-02T10:00:00Z")
    assert state.phase == "stopped" and life_of(run).final_at == z(at("10:00:00", "2026-03-03"))
    # A closed ticket is final: a customer reply starts no cycle.
    _, out = run.machine.apply(
        state, ev("customer_replied", "T", at("11:00:00", "2026-03-03")), gone
    )
    assert out.ignored and life_of(run).next_reply is None
    assert run.machine.next_due(state) == gone
    assert not run.machine.due(state, gone, gone).delete
    assert run.machine.due(state, gone + US, gone).delete
    # First response stopped at 09:10: its +30d (2026-04-01 09:10) deletes nothing.
    assert not run.machine.due(state, z("2026-04-01T09:10:00.000001Z"), gone).delete


def test_a_solved_ticket_becomes_final_when_its_solved_retention_ends() -> None:
    # Solved Mon 15:00: reopenable until 15:00 + 30d = 2026-04-01 15:00. due at exactly that
    # instant keeps it open; just after, the ticket is final (at that instant), a tombstone
    # deleted 30d later (2026-05-01 15:00).
    run = Run().feed(*answered(), ev("status_changed", "T", at("15:00:00"), status="solved"))
    state, machine = state_of(run), run.machine
    end = z("2026-04-01T15:00:00Z")
    assert life_of(run).solved_at == z(at("15:00:00")) and machine.next_due(state) == end
    machine.due(state, end, end)
    assert state.phase == "open"
    machine.due(state, end + US, end)
    assert state.phase == "stopped" and state.life is not None and state.life.final_at == end
    assert machine.next_due(state) == z("2026-05-01T15:00:00Z")
    inclusive = Run().feed(*answered(), ev("status_changed", "T", at("15:00:00"), status="solved"))
    inclusive.until("2026-04-01T15:00:00Z")
    assert state_of(inclusive).phase == "stopped"


def test_a_reopened_ticket_has_no_solved_retention() -> None:
    # Solved 15:00, reopened 18:00 (6h spent, 18h left -> Tue 12:00): nothing makes it final
    # 30d later; its next due instant is its 75% (18h): 12h after 18:00 -> Tue 06:00.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("15:00:00"), status="solved"),
        ev("status_changed", "T", at("18:00:00"), status="open"),
    )
    state = state_of(run)
    assert life_of(run).solved_at is None
    assert run.machine.next_due(state) == z(at("06:00:00", "2026-03-03"))
    run.until("2026-04-02T00:00:00Z")
    assert state.phase == "open" and [a.threshold for a in run.alerts] == [0.75, 0.9, 1.0]


# -- next due over both clocks --------------------------------------------------------------


def test_next_due_is_the_earliest_unsent_threshold_of_either_clock() -> None:
    # Gold P1: resolution 12h from 09:00 -> 75% at 18:00. A cycle from 17:00 (1h): 75% at
    # 17:45, sooner. Once 17:45 is raised: the cycle's 90% (17:54).
    run = Run().feed(*answered(priority=1), ev("customer_replied", "T", at("17:00:00")))
    state, machine = state_of(run), run.machine
    assert machine.next_due(state) == z(at("17:45:00"))
    run.until(at("17:45:00"))
    assert machine.next_due(state) == z(at("17:54:00"))
    # After the cycle's breach (18:00) is raised with the resolution's 75% (18:00), the
    # resolution's 90% (19:48) is next.
    run.until(at("18:00:00"))
    assert machine.next_due(state) == z(at("19:48:00"))


def test_next_due_of_a_later_cycle_is_the_resolution_threshold() -> None:
    # P1 resolution 75% at 18:00; a cycle from 17:50 has its 75% at 18:35: 18:00 is next.
    run = Run().feed(*answered(priority=1), ev("customer_replied", "T", at("17:50:00")))
    assert run.machine.next_due(state_of(run)) == z(at("18:00:00"))


def test_current_sent_lists_the_thresholds_of_the_current_deadline_or_target() -> None:
    start, deadline = z(at("10:00:00")), z(at("12:00:00"))
    nr = Clock(start, start, 7200, start, deadline=deadline)
    assert current_sent(NEXT_REPLY, nr) == []
    nr.sent = [(at("11:00:00"), 0.75), (at("12:00:00"), 0.75), (at("12:00:00"), 0.9)]
    assert current_sent(NEXT_REPLY, nr) == [0.75, 0.9]  # the 11:00 one was an older deadline
    res = Clock(start, start, 86400, start, deadline=deadline)
    res.sent = [("43200", 0.75), ("86400", 0.9)]
    assert current_sent(RESOLUTION, res) == [0.9]
