"""The next-reply and resolution rules (processor/domain/lifecycle.py) at their edges: the pause
arithmetic, out-of-order stamps, the boundaries of met / breached, the alert identities, the
solved retention and the tombstone of a closed ticket. Each found with mutation testing
(docs/mutation.md); the arithmetic is in the comments.

Policy: examples/policy-all-metrics.yaml, gold (24x7): first response P2 1h; next reply P1 1h,
P2 2h; resolution P1 12h, P2 1d; thresholds 75% and 90%; solved and tombstone retention 30d.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sla_helpers import created, ev, z
from test_metrics_examples import BREACH, NEAR, RESOLVED, Run, answered

from processor.domain.alerts import clock_alert_id
from processor.domain.clocks import Clock, Lifecycle
from processor.domain.lifecycle import NEXT_REPLY, RESOLUTION
from processor.domain.state import TicketState

US = timedelta(microseconds=1)
MON = "2026-03-02"


def at(clock: str, day: str = MON) -> str:
    return f"{day}T{clock}Z"


def life_of(run: Run) -> Lifecycle:
    assert run.state is not None and run.state.life is not None
    return run.state.life


def state_of(run: Run) -> TicketState:
    assert run.state is not None
    return run.state


def cycle(run: Run) -> Clock:
    clock = life_of(run).next_reply
    assert clock is not None
    return clock


def resolution(run: Run) -> Clock:
    clock = life_of(run).resolution
    assert clock is not None
    return clock


# -- next reply: when a cycle starts --------------------------------------------------------


def test_the_latest_agent_response_counts_even_when_an_older_one_arrives_last() -> None:
    # Agent responses 09:10, 10:00, then one stamped 09:30 arrives: the last response stays
    # 10:00. A customer reply stamped 09:45 (before it) starts nothing; one at 10:00 exactly
    # (not before it) starts a cycle: P2 2h -> deadline 12:00.
    run = Run().feed(
        *answered(),
        ev("agent_responded", "T", at("10:00:00")),
        ev("agent_responded", "T", at("09:30:00")),
    )
    assert life_of(run).last_agent_at == z(at("10:00:00"))
    run.feed(ev("customer_replied", "T", at("09:45:00")))
    assert life_of(run).next_reply is None
    run.feed(ev("customer_replied", "T", at("10:00:00")))
    assert (cycle(run).start, cycle(run).deadline) == (z(at("10:00:00")), z(at("12:00:00")))


def test_a_private_customer_reply_starts_no_cycle() -> None:
    run = Run().feed(*answered(), ev("customer_replied", "T", at("10:00:00"), public=False))
    assert life_of(run).next_reply is None


def test_a_cycle_never_starts_before_the_creation() -> None:
    # Solved 09:05 (stops the first response: no agent response at all); a customer reply
    # stamped 08:00 then starts a cycle at the creation, 09:00: deadline 11:00.
    run = Run().feed(
        created("T", at("09:00:00"), "gold", 2),
        ev("status_changed", "T", at("09:05:00"), status="solved"),
        ev("customer_replied", "T", at("08:00:00")),
    )
    assert run.stopped("first_response") == [(300.0, True, "solved")]
    assert (cycle(run).start, cycle(run).deadline) == (z(at("09:00:00")), z(at("11:00:00")))


# -- next reply: stops ----------------------------------------------------------------------


def test_a_response_stamped_before_the_cycle_stops_it_at_zero() -> None:
    # Cycle from 10:00; an agent response stamped 09:55 arrives: stop at max(09:55, 10:00) =
    # 10:00, 0 s, met. It is still the latest agent response (09:55 > 09:10).
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("agent_responded", "T", at("09:55:00")),
    )
    assert run.stopped("next_reply") == [(0.0, True, "response")]
    stop = next(s for s in run.stops if s.metric == NEXT_REPLY)
    assert (stop.at, stop.target_seconds, stop.ticket_id) == (z(at("10:00:00")), 7200, "T")
    assert life_of(run).next_reply is None
    assert life_of(run).last_agent_at == z(at("09:55:00"))


def test_a_response_exactly_at_the_cycle_deadline_is_met() -> None:
    # Cycle 10:00, deadline 12:00; the agent answers at 12:00: 7200 s <= 7200 s, met. The
    # event's own instant raises 75% (11:30) and 90% (11:48), not the breach (12:00 is not
    # before 12:00); the cycle had alerts, so it sends sla.resolved at 12:00.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("agent_responded", "T", at("12:00:00")),
    )
    assert run.stopped("next_reply") == [(7200.0, True, "response")]
    assert run.of("next_reply") == [
        (NEAR, 0.75, at("11:30:00")),
        (NEAR, 0.9, at("11:48:00")),
        (RESOLVED, None, at("12:00:00")),
    ]


def test_a_response_one_microsecond_after_the_cycle_deadline_is_breached() -> None:
    # 12:00:00.000001 > 12:00: breached; the breach (12:00, before the event) is raised first.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("agent_responded", "T", at("12:00:00.000001")),
    )
    assert run.stopped("next_reply") == [(7200.000001, False, "response")]
    assert [a.type for a in run.alerts] == [NEAR, NEAR, BREACH, RESOLVED]


def test_solved_stops_the_cycle_and_the_resolution() -> None:
    # Cycle 10:00; solved 11:00: next reply 3600 s met (reason solved), resolution 2h = 7200 s
    # met; the ticket stays open (reopenable), no alert.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("status_changed", "T", at("11:00:00"), status="solved"),
    )
    assert run.stopped("next_reply") == [(3600.0, True, "solved")]
    assert run.stopped("resolution") == [(7200.0, True, "solved")]
    assert life_of(run).next_reply is None and state_of(run).phase == "open"
    assert run.machine.running(state_of(run)) == []
    # The stopped resolution keeps its 2h as a whole number of microseconds in the row.
    assert json.dumps(resolution(run).to_dict()["spent_us"]) == "7200000000"


def test_running_lists_the_open_cycle_and_the_resolution() -> None:
    run = Run().feed(*answered(), ev("customer_replied", "T", at("10:00:00")))
    assert run.machine.running(state_of(run)) == [NEXT_REPLY, RESOLUTION]
    fresh = Run().feed(created("T", at("09:00:00"), "gold", 2))
    assert fresh.machine.running(state_of(fresh)) == ["first_response", RESOLUTION]


def test_closing_before_any_response_stops_every_metric_with_reason_closed() -> None:
    run = Run().feed(
        created("T", at("09:00:00"), "gold", 2),
        ev("status_changed", "T", at("09:30:00"), status="closed"),
    )
    assert run.stopped("first_response") == [(1800.0, True, "closed")]
    assert run.stopped("resolution") == [(1800.0, True, "closed")]
    assert state_of(run).phase == "stopped"


# -- alert identities -----------------------------------------------------------------------


def test_cycle_alert_ids_are_the_start_the_deadline_and_the_threshold() -> None:
    # Cycle 10:00 - 12:00, breached, answered 12:30: ids from (start, deadline, threshold);
    # the resolved id from the cycle's start alone. The alerts carry the cycle's deadline.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", at("10:00:00")),
        ev("agent_responded", "T", at("12:30:00")),
    )
    parts = (at("10:00:00"), at("12:00:00"))
    assert [a.alert_id for a in run.alerts] == [
        clock_alert_id("T", NEXT_REPLY, parts, 0.75),
        clock_alert_id("T", NEXT_REPLY, parts, 0.9),
        clock_alert_id("T", NEXT_REPLY, parts, 1.0),
        clock_alert_id("T", NEXT_REPLY, (at("10:00:00"),), None),
    ]
    assert {a.deadline for a in run.alerts} == {z(at("12:00:00"))}
    assert {(a.metric, a.target_seconds) for a in run.alerts} == {(NEXT_REPLY, 7200)}


def test_resolution_alert_ids_are_the_origin_the_target_and_the_threshold() -> None:
    # Gold P2 resolution 1d = 86400 s from Mon 09:00: 75% Tue 03:00, 90% Tue 06:36, breach
    # Tue 09:00. Solved Tue 10:00: the resolved id is the stop instant.
    run = Run().feed(*answered()).until(at("09:00:00", "2026-03-03"))
    run.feed(ev("status_changed", "T", at("10:00:00", "2026-03-03"), status="solved"))
    parts = (at("09:00:00"), "86400")
    assert run.of(RESOLUTION) == [
        (NEAR, 0.75, at("03:00:00", "2026-03-03")),
        (NEAR, 0.9, at("06:36:00", "2026-03-03")),
        (BREACH, 1.0, at("09:00:00", "2026-03-03")),
        (RESOLVED, None, at("10:00:00", "2026-03-03")),
    ]
    assert [a.alert_id for a in run.alerts] == [
        clock_alert_id("T", RESOLUTION, parts, 0.75),
        clock_alert_id("T", RESOLUTION, parts, 0.9),
        clock_alert_id("T", RESOLUTION, parts, 1.0),
        clock_alert_id("T", RESOLUTION, (at("10:00:00", "2026-03-03"),), None),
    ]
    assert run.alerts[-1].deadline == z(at("09:00:00", "2026-03-03"))


def test_a_due_call_exactly_at_a_clock_threshold_raises_it_only_when_inclusive() -> None:
    # Cycle 10:00: 75% at 11:30. due(11:30) raises nothing (not before 11:30); due(11:30,
    # inclusive) raises it, once.
    run = Run().feed(*answered(), ev("customer_replied", "T", at("10:00:00")))
    state, machine = state_of(run), run.machine
    assert machine.due(state, z(at("11:30:00")), z(at("11:30:00"))).alerts == []
    alerts = machine.due(state, z(at("11:30:00")), z(at("11:30:00")), inclusive=True).alerts
    assert [(a.type, a.threshold) for a in alerts] == [(NEAR, 0.75)]
    assert machine.due(state, z(at("11:30:00.000001")), z(at("11:31:00"))).alerts == []
    assert alerts[0].emitted_at == z(at("11:30:00"))


# -- resolution: met, pauses, out-of-order stamps ---------------------------------------------


def test_resolution_solved_exactly_at_its_target_is_met() -> None:
    # 1d from Mon 09:00, solved Tue 09:00: 86400 s <= 86400 s, met. 75% and 90% were raised
    # by the event's own instant, the breach (Tue 09:00, not before it) was not.
    run = Run().feed(
        *answered(), ev("status_changed", "T", at("09:00:00", "2026-03-03"), status="solved")
    )
    assert run.stopped(RESOLUTION) == [(86400.0, True, "solved")]
    assert [a.type for a in run.alerts] == [NEAR, NEAR, RESOLVED]
    late = Run().feed(
        *answered(), ev("status_changed", "T", at("09:00:01", "2026-03-03"), status="solved")
    )
    assert late.stopped(RESOLUTION) == [(86401.0, False, "solved")]


def test_a_pause_keeps_the_business_time_in_whole_microseconds() -> None:
    # Open 09:00 - 12:00:00.5 then pending: 3h + 0.5 s = 10,800,500,000 us, stored as an int.
    run = Run().feed(*answered(), ev("status_changed", "T", at("12:00:00.5"), status="pending"))
    clock = resolution(run)
    assert json.dumps(clock.to_dict()["spent_us"]) == "10800500000"
    assert not clock.running and clock.thresholds == [] and clock.since == z(at("12:00:00.5"))
    # The deadline stays where it was placed (24h from 09:00) while paused.
    assert clock.deadline == z(at("09:00:00", "2026-03-03"))
    assert run.machine.running(state_of(run)) == [RESOLUTION]


def test_a_resume_stamped_before_the_pause_resumes_at_the_pause() -> None:
    # Pending 12:00 (3h spent); "open" stamped 11:00 arrives after it: the clock resumes at
    # max(11:00, 12:00) = 12:00 with 21h left: deadline Tue 09:00 (not 08:00).
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("12:00:00"), status="pending"),
        ev("status_changed", "T", at("11:00:00"), status="open"),
    )
    clock = resolution(run)
    assert clock.running and clock.since == z(at("12:00:00"))
    assert clock.deadline == z(at("09:00:00", "2026-03-03"))


def test_a_pause_stamped_before_the_resume_pauses_at_the_resume() -> None:
    # Pending 12:00 (3h), open 14:00, then "on_hold" stamped 13:00: it pauses at max(13:00,
    # 14:00) = 14:00, still 3h. "open" stamped 13:30 resumes at max(13:30, 14:00) = 14:00:
    # 21h left -> Tue 11:00.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("12:00:00"), status="pending"),
        ev("status_changed", "T", at("14:00:00"), status="open"),
        ev("status_changed", "T", at("13:00:00"), status="on_hold"),
    )
    clock = resolution(run)
    assert (clock.running, clock.since, clock.spent_us) == (False, z(at("14:00:00")), 3 * 3600e6)
    run.feed(ev("status_changed", "T", at("13:30:00"), status="open"))
    assert clock.running and clock.deadline == z(at("11:00:00", "2026-03-03"))


def test_moving_between_two_pause_statuses_keeps_the_clock_paused() -> None:
    # Pending 12:00 (3h), on_hold 15:00, open 18:00: paused 12:00-18:00, 21h left from 18:00
    # -> Tue 15:00.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", at("12:00:00"), status="pending"),
        ev("status_changed", "T", at("15:00:00"), status="on_hold"),
    )
    assert not resolution(run).running and resolution(run).spent_us == 3 * 3600 * 10**6
    run.feed(ev("status_changed", "T", at("18:00:00"), status="open"))
    assert resolution(run).deadline == z(at("15:00:00", "2026-03-03"))


def test_the_same_status_again_is_ignored() -> None:
    run = Run().feed(*answered(), ev("status_changed", "T", at("12:00:00"), status="pending"))
    _, out = run.machine.apply(
        state_of(run), ev("status_changed", "T", at("13:00:00"), status="pending"), z(at("13:00"))
    )
    assert out.ignored and out.stops == [] and resolution(run).since == z(at("12:00:00"))


def test_a_threshold_reached_exactly_at_a_pause_is_due_at_the_resume_even_when_closed() -> None:
    # Basic P1 resolution 2d = 48h, open Mon 00:01 - Fri 23:59 (UTC). Created Mon 00:01: 75%
    # = 36h -> Tue 12:01. Pending at Tue 12:01 exactly (the 75% is not before the event, so
    # not raised): 36h spent. "open" on Sat 10:00 (outside the window): the 75% is reached
    # already, due at the resume itself (not at the window's next opening, Mon 00:01). 90% =
    # 43h12m: 7h12m of open time after it -> Mon 07:13; deadline 12h -> Mon 12:01.
    run = Run().feed(
        created("B", at("00:01:00"), "basic", 1),
        ev("agent_responded", "B", at("00:30:00")),
        ev("status_changed", "B", at("12:01:00", "2026-03-03"), status="pending"),
        ev("status_changed", "B", at("10:00:00", "2026-03-07"), status="open"),
    )
    assert resolution(run).thresholds == [
        (0.75, z(at("10:00:00", "2026-03-07"))),
        (0.9, z(at("07:13:00", "2026-03-09"))),
        (1.0, z(at("12:01:00", "2026-03-09"))),
    ]
    run.until(at("10:00:00", "2026-03-07"))
    assert run.of(RESOLUTION) == [(NEAR, 0.75, at("10:00:00", "2026-03-07"))]


def test_the_first_response_stops_with_its_reason_and_a_resolved_stamped_now() -> None:
    # Gold P2 first response 1h from 09:00: 75% 09:45, 90% 09:54, breach 10:00, all raised.
    # Answered 10:30: the first response stops (5400 s, breached, reason response) and its
    # sla.resolved carries the event's time as emitted_at (the Run's now).
    run = Run().feed(created("T", at("09:00:00"), "gold", 2)).until(at("10:00:00"))
    run.feed(ev("agent_responded", "T", at("10:30:00")))
    assert run.stopped("first_response") == [(5400.0, False, "response")]
    resolved = run.alerts[-1]
    assert (resolved.type, resolved.metric) == (RESOLVED, "first_response")
    assert resolved.emitted_at == z(at("10:30:00"))


def test_solved_stamps_the_resolved_alerts_of_both_clocks_now() -> None:
    # First response breached (raised up to 10:00), then solved 10:20 without a response:
    # its resolved is emitted at 10:20. Another ticket: its cycle (10:00 - 12:00) breached,
    # solved 12:30: the cycle's resolved is emitted at 12:30.
    run = Run().feed(created("T", at("09:00:00"), "gold", 2)).until(at("10:00:00"))
    run.feed(ev("status_changed", "T", at("10:20:00"), status="solved"))
    assert (run.alerts[-1].metric, run.alerts[-1].emitted_at) == (
        "first_response",
        z(at("10:20:00")),
    )
    cyc = Run().feed(*answered(), ev("customer_replied", "T", at("10:00:00")))
    cyc.until(at("12:00:00")).feed(ev("status_changed", "T", at("12:30:00"), status="solved"))
    assert [(a.type, a.emitted_at) for a in cyc.alerts if a.metric == NEXT_REPLY][-1] == (
        RESOLVED,
        z(at("12:30:00")),
    )


def test_a_resolution_stop_records_its_target_and_instant() -> None:
    run = Run().feed(*answered(), ev("status_changed", "T", at("15:00:00"), status="solved"))
    stop = next(s for s in run.stops if s.metric == RESOLUTION)
    assert (stop.target_seconds, stop.at, stop.reason) == (86400, z(at("15:00:00")), "solved")


def test_a_due_resolution_threshold_is_raised_after_a_cycle_with_one_due() -> None:
    # Gold P1: resolution 75% at 18:00. A cycle from 17:10 (1h): 75% 17:55, 90% 18:04. Up to
    # 18:00 the cycle's 75% is raised and its 90% is not yet due; the resolution's 75% is raised
    # too (the cycle's pending thresholds do not end the walk over the clocks).
    run = Run().feed(*answered(priority=1), ev("customer_replied", "T", at("17:10:00")))
    run.until(at("18:00:00"))
    assert run.of(NEXT_REPLY) == [(NEAR, 0.75, at("17:55:00"))]
    assert run.of(RESOLUTION) == [(NEAR, 0.75, at("18:00:00"))]
