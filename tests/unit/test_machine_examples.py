"""Worked examples of docs/contract.md#3-sla-semantics, each with its arithmetic in a comment.

Targets (seed matrix): basic P1 2h, P2 12h, P3/P4 24h; silver P1 1h, P2 2h, P3 8h, P4 24h;
gold P1 30m, P2 1h, P3 4h, P4 24h. Near-breach at 75% and 90%, breach at 100%.
Basic counts only Monday 00:01 - Friday 23:59 in the ticket's zone.
"""

from __future__ import annotations

from sla_helpers import brief, created, ev, replay, z

from processor.domain.policy import default_policy

NEAR = "sla.near_breach"
BREACH = "sla.breached"
RESOLVED = "sla.resolved"


def test_basic_created_on_a_saturday_starts_monday_0001_local() -> None:
    # Sat 2026-01-10 10:00 EST. Clock starts Mon 2026-01-12 00:01 EST = 05:01Z.
    # P1 = 2h: 75% = 1h30 -> 06:31Z; 90% = 1h48 -> 06:49Z; breach 2h -> 07:01Z.
    alerts = replay(
        [created("T1", "2026-01-10T10:00:00-05:00", "basic", 1, "America/New_York")],
        until="2026-01-12T07:01:00Z",
    )
    assert brief(alerts) == [
        (NEAR, 0.75, "2026-01-12T06:31:00Z"),
        (NEAR, 0.9, "2026-01-12T06:49:00Z"),
        (BREACH, 1.0, "2026-01-12T07:01:00Z"),
    ]
    assert alerts[-1].deadline.isoformat() == "2026-01-12T07:01:00+00:00"
    assert alerts[-1].target_seconds == 7200


def test_basic_created_friday_evening_in_new_york() -> None:
    # Fri 2026-01-16 23:00 EST (= Sat 04:00Z). Friday counts until 23:59: 59 min.
    # P1 2h = 120 min: 61 min remain from Mon 2026-01-19 00:01 EST (05:01Z) -> 06:02Z.
    # 75% = 90 min = 59 + 31 -> Mon 00:32 EST = 05:32Z; 90% = 108 min = 59 + 49 -> 05:50Z.
    alerts = replay(
        [created("T1", "2026-01-16T23:00:00-05:00", "basic", 1, "America/New_York")],
        until="2026-01-20T00:00:00Z",
    )
    assert brief(alerts) == [
        (NEAR, 0.75, "2026-01-19T05:32:00Z"),
        (NEAR, 0.9, "2026-01-19T05:50:00Z"),
        (BREACH, 1.0, "2026-01-19T06:02:00Z"),
    ]


def test_basic_created_monday_000030_local_waits_for_0001() -> None:
    # Mon 2026-01-12 00:00:30 CET (= Sun 23:00:30Z) is before the window: clock starts 00:01 CET
    # = 23:01Z. P2 = 12h: 75% = 9h -> 08:01Z; 90% = 10h48 -> 09:49Z; breach -> 11:01Z.
    alerts = replay(
        [created("T1", "2026-01-12T00:00:30+01:00", "basic", 2, "Europe/Paris")],
        until="2026-01-13T00:00:00Z",
    )
    assert brief(alerts) == [
        (NEAR, 0.75, "2026-01-12T08:01:00Z"),
        (NEAR, 0.9, "2026-01-12T09:49:00Z"),
        (BREACH, 1.0, "2026-01-12T11:01:00Z"),
    ]


def test_basic_spanning_the_eu_dst_change() -> None:
    # Fri 2026-03-27 12:00 CET (11:00Z); Paris springs forward Sun 2026-03-29.
    # P3 24h: Friday 12:00 -> 23:59 = 11h59; 12h01 remain from Mon 2026-03-30 00:01 CEST
    # (= Sun 22:01Z) -> Mon 12:02 CEST = 10:02Z (not 11:02Z: the offset changed to +02:00).
    alerts = replay(
        [created("T1", "2026-03-27T12:00:00+01:00", "basic", 3, "Europe/Paris")],
        until="2026-03-31T00:00:00Z",
    )
    assert alerts[-1].type == BREACH
    assert alerts[-1].due_at.isoformat() == "2026-03-30T10:02:00+00:00"


def test_basic_spanning_the_us_dst_change() -> None:
    # Fri 2026-03-06 12:00 EST (17:00Z); New York springs forward Sun 2026-03-08.
    # P3 24h: 11h59 on Friday; 12h01 from Mon 2026-03-09 00:01 EDT (04:01Z) -> 12:02 EDT = 16:02Z.
    # 75% = 18h: 11h59 + 6h01 -> Mon 06:02 EDT = 10:02Z.
    alerts = replay(
        [created("T1", "2026-03-06T12:00:00-05:00", "basic", 3, "America/New_York")],
        until="2026-03-10T00:00:00Z",
    )
    assert brief(alerts)[0] == (NEAR, 0.75, "2026-03-09T10:02:00Z")
    assert brief(alerts)[-1] == (BREACH, 1.0, "2026-03-09T16:02:00Z")


def test_24x7_durations_are_real_seconds_across_dst() -> None:
    # Gold P4 24h created Sat 2026-03-28 12:00 CET (11:00Z): 24x7, so the deadline is exactly
    # 24 real hours later, 2026-03-29 11:00Z (13:00 CEST on the wall clock).
    alerts = replay(
        [created("T1", "2026-03-28T12:00:00+01:00", "gold", 4, "Europe/Paris")],
        until="2026-03-30T00:00:00Z",
    )
    assert brief(alerts)[-1] == (BREACH, 1.0, "2026-03-29T11:00:00Z")


def test_upgrade_puts_thresholds_in_the_past_and_they_fire_at_once() -> None:
    # Silver P3 (8h) created 09:00Z; upgraded to P1 (1h) at 10:30Z. From creation, the new
    # deadline is 10:00Z: 75% 09:45Z, 90% 09:54Z, breach 10:00Z, all in the past -> raised at
    # 10:30Z with their own due_at. Response at 10:40Z -> resolved (late: not met).
    alerts = replay(
        [
            created("T1", "2026-01-05T09:00:00Z", "silver", 3),
            ev("priority_changed", "T1", "2026-01-05T10:30:00Z", priority=1),
            ev("agent_responded", "T1", "2026-01-05T10:40:00Z"),
        ]
    )
    assert brief(alerts) == [
        (NEAR, 0.75, "2026-01-05T09:45:00Z"),
        (NEAR, 0.9, "2026-01-05T09:54:00Z"),
        (BREACH, 1.0, "2026-01-05T10:00:00Z"),
        (RESOLVED, None, "2026-01-05T10:40:00Z"),
    ]
    assert {a.emitted_at.isoformat() for a in alerts[:3]} == {"2026-01-05T10:30:00+00:00"}
    assert all(a.priority == 1 for a in alerts)


def test_downgrade_after_a_near_breach() -> None:
    # Gold P1 (30m) created 09:00Z: 75% at 09:22:30Z is raised when an event at 09:23Z is read.
    # Downgrade to P3 (4h) at 09:25Z: deadline 13:00Z, 75% 12:00Z, 90% 12:36Z. The old 90%
    # (09:27Z) and breach (09:30Z) are no longer due. Response 12:10Z: the new 75% (12:00Z)
    # was passed first, then the response meets the SLA and resolves the page.
    alerts = replay(
        [
            created("T1", "2026-01-05T09:00:00Z", "gold", 1),
            ev("agent_responded", "T1", "2026-01-05T09:23:00Z", public=False),
            ev("priority_changed", "T1", "2026-01-05T09:25:00Z", priority=3),
            ev("agent_responded", "T1", "2026-01-05T12:10:00Z"),
        ]
    )
    assert brief(alerts) == [
        (NEAR, 0.75, "2026-01-05T09:22:30Z"),
        (NEAR, 0.75, "2026-01-05T12:00:00Z"),
        (RESOLVED, None, "2026-01-05T12:10:00Z"),
    ]
    assert alerts[0].deadline != alerts[1].deadline
    assert alerts[0].alert_id != alerts[1].alert_id


def test_an_internal_note_does_not_stop_the_clock() -> None:
    # Gold P1 created 09:00Z; internal note at 09:10Z; deadline 09:30Z passes unanswered.
    alerts = replay(
        [
            created("T1", "2026-01-05T09:00:00Z", "gold", 1),
            ev("agent_responded", "T1", "2026-01-05T09:10:00Z", public=False),
        ],
        until="2026-01-05T09:30:00Z",
    )
    assert [a.type for a in alerts] == [NEAR, NEAR, BREACH]


def test_pending_and_on_hold_do_not_pause_the_clock() -> None:
    alerts = replay(
        [
            created("T1", "2026-01-05T09:00:00Z", "silver", 1),
            ev("status_changed", "T1", "2026-01-05T09:05:00Z", status="pending"),
            ev("status_changed", "T1", "2026-01-05T09:06:00Z", status="on_hold"),
        ],
        until="2026-01-05T10:00:00Z",
    )
    assert brief(alerts)[-1] == (BREACH, 1.0, "2026-01-05T10:00:00Z")


def test_close_without_response_stops_the_clock_without_alerts() -> None:
    # Silver P1 created 09:00Z, closed 09:20Z with no reply: the SLA stops (met, 20 min).
    alerts = replay(
        [
            created("T1", "2026-01-05T09:00:00Z", "silver", 1),
            ev("status_changed", "T1", "2026-01-05T09:20:00Z", status="closed"),
        ],
        until="2026-01-06T00:00:00Z",
    )
    assert alerts == []


def test_duplicate_events_are_ignored_and_alerts_are_raised_once() -> None:
    # The creation is delivered twice (same event_id) and the watermark passes 09:30Z twice.
    first = created("T1", "2026-01-05T09:00:00Z", "gold", 1, event_id="c1")
    alerts = replay(
        [
            first,
            created("T1", "2026-01-05T09:00:00Z", "gold", 1, event_id="c1"),
            created("T2", "2026-01-05T09:31:00Z", "gold", 4),
            created("T2", "2026-01-05T09:32:00Z", "gold", 4),
        ]
    )
    assert [a.type for a in alerts] == [NEAR, NEAR, BREACH]
    assert len({a.alert_id for a in alerts}) == 3


def test_response_logged_before_its_creation_event() -> None:
    # The response (09:05Z) arrives first and waits; the creation (09:00Z) applies it:
    # first response after 5 minutes, met, no alert at all.
    alerts = replay(
        [
            ev("agent_responded", "T1", "2026-01-05T09:05:00Z"),
            created("T1", "2026-01-05T09:00:00Z", "gold", 1),
        ],
        until="2026-01-06T00:00:00Z",
    )
    assert alerts == []


def test_events_before_creation_are_dropped_after_the_retention() -> None:
    # An orphan response at day 0 is kept 7 days of event time, then dropped and counted.
    from processor.replay import Replayer

    replayer = Replayer(default_policy())
    replayer.feed(ev("agent_responded", "T9", "2026-01-01T00:00:00Z"))
    replayer.feed(created("T1", "2026-01-08T00:00:00Z", "gold", 4))
    assert replayer.stats.dropped_early == 0
    replayer.feed(created("T2", "2026-01-08T00:00:01Z", "gold", 4))
    assert replayer.stats.dropped_early == 1


def test_running_names_the_clocks_still_running() -> None:
    from processor.domain.machine import SlaMachine

    machine = SlaMachine(default_policy())
    state, _ = machine.apply(
        None, created("R1", "2026-01-05T09:00:00Z", "gold", 1), z("2026-01-05T09:00:00Z")
    )
    assert machine.running(state) == ["first_response"]
    state, _ = machine.apply(
        state, ev("agent_responded", "R1", "2026-01-05T09:05:00Z"), z("2026-01-05T09:05:00Z")
    )
    assert machine.running(state) == []
