"""A priority change on a ticket with next-reply and resolution clocks, in both modes
(`on_priority_change`: from_creation, from_change), running, paused, solved, and stamped out of
order. Found with mutation testing (docs/mutation.md); the arithmetic is in the comments.

Policy: examples/policy-all-metrics.yaml, gold (24x7): first response P1 30m, P2 1h; next reply
P1 1h, P2 2h; resolution P1 12h, P2 1d; thresholds 75% and 90%.
"""

from __future__ import annotations

from sla_helpers import created, ev, z
from test_metrics_examples import BREACH, NEAR, Run, answered, policy
from test_metrics_lifecycle import at, cycle, life_of, resolution, state_of

from processor.domain.alerts import clock_alert_id
from processor.domain.lifecycle import NEXT_REPLY, RESOLUTION

FROM_CHANGE = {"on_priority_change: from_creation": "on_priority_change: from_change"}
TUE = "2026-03-03"


def from_change() -> Run:
    return Run(policy(**FROM_CHANGE))


def test_from_change_restarts_a_running_cycle_and_the_resolution_at_the_change() -> None:
    # Cycle from 10:00 (P2 2h); P1 at 10:30: the cycle's 1h counts from 10:30 -> 11:30
    # (75% 11:15, 90% 11:24); resolution 12h from 10:30 -> 22:30. The ids keep the cycle's
    # start (10:00) with the new deadline.
    run = from_change().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("priority_changed", "T", at("10:30:00"), priority=1),
    )
    assert (cycle(run).origin, cycle(run).deadline) == (z(at("10:30:00")), z(at("11:30:00")))
    assert (resolution(run).origin, resolution(run).deadline) == (
        z(at("10:30:00")),
        z(at("22:30:00")),
    )
    assert state_of(run).priority == 1
    run.until(at("11:30:00"))
    assert run.of(NEXT_REPLY) == [
        (NEAR, 0.75, at("11:15:00")),
        (NEAR, 0.9, at("11:24:00")),
        (BREACH, 1.0, at("11:30:00")),
    ]
    parts = (at("10:00:00"), at("11:30:00"))
    assert run.alerts[0].alert_id == clock_alert_id("T", NEXT_REPLY, parts, 0.75)


def test_from_change_stamped_before_the_cycle_counts_from_the_cycle_start() -> None:
    # Cycle 10:00; a change to P1 stamped 09:50 arrives after it: the cycle counts from
    # max(09:50, 10:00) = 10:00 -> 11:00; the resolution from max(09:50, 09:00) = 09:50 ->
    # 21:50.
    run = from_change().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("priority_changed", "T", at("09:50:00"), priority=1),
    )
    assert cycle(run).deadline == z(at("11:00:00"))
    assert resolution(run).deadline == z(at("21:50:00"))


def test_from_change_on_a_paused_resolution_counts_from_the_change_at_the_resume() -> None:
    # Pending 12:00 (3h spent); P1 at 13:00: the 12h count from the change, nothing spent, and
    # only once it resumes (open 14:00): deadline Tue 02:00. (From creation: 12h - 3h = 9h
    # from 14:00 -> 23:00.)
    run = from_change().feed(
        *answered(),
        ev("status_changed", "T", at("12:00:00"), status="pending"),
        ev("priority_changed", "T", at("13:00:00"), priority=1),
    )
    clock = resolution(run)
    assert (clock.running, clock.spent_us, clock.since) == (False, 0, z(at("13:00:00")))
    assert clock.thresholds == []
    run.feed(ev("status_changed", "T", at("14:00:00"), status="open"))
    assert clock.deadline == z(at("02:00:00", TUE))
    same = Run().feed(
        *answered(),
        ev("status_changed", "T", at("12:00:00"), status="pending"),
        ev("priority_changed", "T", at("13:00:00"), priority=1),
        ev("status_changed", "T", at("14:00:00"), status="open"),
    )
    assert resolution(same).deadline == z(at("23:00:00"))


def test_from_change_stamped_before_the_pause_keeps_the_pause_instant() -> None:
    # Pending 12:00; a change stamped 11:00 arrives: origin 11:00, but the clock stays paused
    # from max(11:00, 12:00) = 12:00. "open" stamped 11:30 resumes at max(11:30, 12:00) =
    # 12:00: 12h -> Tue 00:00.
    run = from_change().feed(
        *answered(),
        ev("status_changed", "T", at("12:00:00"), status="pending"),
        ev("priority_changed", "T", at("11:00:00"), priority=1),
    )
    clock = resolution(run)
    assert (clock.origin, clock.since) == (z(at("11:00:00")), z(at("12:00:00")))
    run.feed(ev("status_changed", "T", at("11:30:00"), status="open"))
    assert clock.deadline == z(at("00:00:00", TUE))


def test_a_change_while_solved_applies_at_the_reopen_in_both_modes() -> None:
    # Solved 15:00 (6h spent of P2's 24h); P1 (12h) at 16:00; reopened 18:00.
    # from_creation: 12h - 6h = 6h from 18:00 -> Tue 00:00.
    # from_change: 12h from the change, nothing spent, counting from the reopen -> Tue 06:00.
    events = [
        *answered(),
        ev("status_changed", "T", at("15:00:00"), status="solved"),
        ev("priority_changed", "T", at("16:00:00"), priority=1),
    ]
    creation, change = Run().feed(*events), from_change().feed(*events)
    assert creation.machine.running(state_of(creation)) == []
    assert resolution(change).origin == z(at("16:00:00")) and resolution(change).spent_us == 0
    reopen = ev("status_changed", "T", at("18:00:00"), status="open")
    creation.feed(reopen)
    change.feed(reopen)
    assert resolution(creation).deadline == z(at("00:00:00", TUE))
    assert resolution(change).deadline == z(at("06:00:00", TUE))
    assert {resolution(creation).target_seconds, resolution(change).target_seconds} == {43200}


def test_from_change_forgets_the_alerts_of_the_old_target() -> None:
    # Gold P2 resolution 1d from 09:00: 75% raised Tue 03:00. P1 at Tue 04:00 (from_change):
    # 12h from 04:00 -> 75% at 13:00 is a new alert (new origin and target), not a repeat.
    run = from_change().feed(*answered()).until(at("03:00:00", TUE))
    run.feed(ev("priority_changed", "T", at("04:00:00", TUE), priority=1))
    assert resolution(run).sent == []
    run.until(at("13:00:00", TUE))
    assert run.of(RESOLUTION) == [
        (NEAR, 0.75, at("03:00:00", TUE)),
        (NEAR, 0.75, at("13:00:00", TUE)),
    ]
    ids = [a.alert_id for a in run.alerts]
    assert ids[1] == clock_alert_id("T", RESOLUTION, (at("04:00:00", TUE), "43200"), 0.75)


def test_from_creation_retargets_the_resolution_from_the_creation() -> None:
    # P2 -> P1 at 10:00: the resolution's 12h count from 09:00 -> 21:00 (75% 18:00).
    run = Run().feed(*answered(), ev("priority_changed", "T", at("10:00:00"), priority=1))
    clock = resolution(run)
    assert (clock.origin, clock.deadline) == (z(at("09:00:00")), z(at("21:00:00")))
    assert clock.thresholds[0] == (0.75, z(at("18:00:00")))


def test_a_change_before_the_first_response_retargets_it_and_after_it_does_not() -> None:
    # Before: P1 at 09:10 -> first response 30m from 09:00: 75% 09:22:30, breach 09:30.
    before = Run().feed(
        created("T", at("09:00:00"), "gold", 2),
        ev("priority_changed", "T", at("09:10:00"), priority=1),
    )
    assert state_of(before).deadline == z(at("09:30:00"))
    before.until(at("09:30:00"))
    assert before.of("first_response")[-1] == (BREACH, 1.0, at("09:30:00"))
    # After the first response (09:10) a change leaves the stopped first response alone.
    after = Run().feed(*answered(), ev("priority_changed", "T", at("09:20:00"), priority=1))
    after.until(at("10:00:00"))
    assert after.of("first_response") == [] and state_of(after).priority == 1
    assert state_of(after).thresholds == []


def test_the_same_priority_again_is_ignored() -> None:
    run = Run().feed(*answered(), ev("customer_replied", "T", at("10:00:00")))
    _, out = run.machine.apply(
        state_of(run), ev("priority_changed", "T", at("10:30:00"), priority=2), z(at("10:30"))
    )
    assert out.ignored and cycle(run).deadline == z(at("12:00:00"))
    assert life_of(run).resolution is not None


def test_a_cycle_on_a_solved_ticket_is_retargeted_and_the_stopped_resolution_is_not() -> None:
    # Solved 15:00 (resolution stopped at 24h target); the customer writes 16:00: a cycle
    # 16:00 - 18:00 (P2 2h). P1 at 16:30, from creation: the cycle's 1h -> 17:00. The stopped
    # resolution keeps its target and deadline (Tue 09:00) until it is reopened.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("15:00:00"), status="solved"),
        ev("customer_replied", "T", at("16:00:00")),
        ev("priority_changed", "T", at("16:30:00"), priority=1),
    )
    assert cycle(run).deadline == z(at("17:00:00"))
    clock = resolution(run)
    assert (clock.target_seconds, clock.deadline) == (86400, z(at("09:00:00", TUE)))
    run.feed(ev("status_changed", "T", at("18:00:00"), status="open"))
    assert clock.target_seconds == 43200
