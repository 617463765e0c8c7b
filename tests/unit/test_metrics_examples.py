"""Worked examples of docs/contract.md#8-more-sla-metrics and #9-holidays-by-country, each with
its arithmetic in a comment.

Policy: examples/policy-all-metrics.yaml. Next-reply targets: gold P2 2h; resolution: gold P1
12h, P2 1d, P3 3d; basic P1 2d. Thresholds 75% and 90%, breach at 100%. Gold runs 24x7, basic
Monday 00:01 - Friday 23:59 local time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sla_helpers import brief, created, ev, z

from processor.domain.alerts import Alert
from processor.domain.events import Event
from processor.domain.machine import SlaMachine, StopRecord
from processor.domain.policy import Policy, load_policy, parse_policy
from processor.domain.state import TicketState

EXAMPLE = Path(__file__).parents[2] / "examples" / "policy-all-metrics.yaml"
SYDNEY = "Australia/Sydney"
NEAR, BREACH, RESOLVED = "sla.near_breach", "sla.breached", "sla.resolved"


def policy(**edits: str) -> Policy:
    text = EXAMPLE.read_text()
    for old, new in edits.items():
        assert old.replace("_", " ") in text or old in text
        text = text.replace(old, new)
    return parse_policy(text)


class Run:
    """Apply events in order and drain what is due, as replay does, keeping stops too."""

    def __init__(self, chosen: Policy | None = None) -> None:
        self.machine = SlaMachine(chosen or load_policy(EXAMPLE))
        self.state: TicketState | None = None
        self.alerts: list[Alert] = []
        self.stops: list[StopRecord] = []

    def feed(self, *events: Event) -> Run:
        for event in events:
            self.state, out = self.machine.apply(self.state, event, event.occurred_at)
            self.alerts += out.alerts
            self.stops += out.stops
        return self

    def until(self, at: str) -> Run:
        assert self.state is not None
        out = self.machine.due(self.state, z(at), z(at), inclusive=True)
        self.alerts += out.alerts
        return self

    def of(self, metric: str) -> list[tuple[str, float | None, str]]:
        return brief([a for a in self.alerts if a.metric == metric])

    def stopped(self, metric: str) -> list[tuple[float, bool, str]]:
        return [(s.business_seconds, s.met, s.reason) for s in self.stops if s.metric == metric]


def answered(ticket: str = "T", tier: str = "gold", priority: int = 2) -> list[Event]:
    # Created Mon 2026-03-02 09:00Z, first response 09:10 (gold P2 first response: 1h, met).
    return [
        created(ticket, "2026-03-02T09:00:00Z", tier, priority),
        ev("agent_responded", ticket, "2026-03-02T09:10:00Z"),
    ]


def test_next_reply_cycle_met() -> None:
    # Customer writes 10:00: a cycle starts (gold P2 next reply 2h: deadline 12:00).
    # Agent answers 11:00: 1h = 3600 s of business time, met; no alert.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", "2026-03-02T10:00:00Z"),
        ev("agent_responded", "T", "2026-03-02T11:00:00Z"),
    )
    run.until("2026-03-02T13:00:00Z")
    assert run.of("next_reply") == []
    assert run.stopped("next_reply") == [(3600.0, True, "response")]


def test_next_reply_cycle_breached_then_resolved() -> None:
    # Cycle from 10:00, 2h: 75% = 1h30 -> 11:30; 90% = 1h48 -> 11:48; breach 12:00.
    # The agent answers 12:30: 2h30 = 9000 s, breached; one sla.resolved for the cycle.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", "2026-03-02T10:00:00Z"),
        ev("agent_responded", "T", "2026-03-02T12:30:00Z"),
    )
    assert run.of("next_reply") == [
        (NEAR, 0.75, "2026-03-02T11:30:00Z"),
        (NEAR, 0.9, "2026-03-02T11:48:00Z"),
        (BREACH, 1.0, "2026-03-02T12:00:00Z"),
        (RESOLVED, None, "2026-03-02T12:30:00Z"),
    ]
    assert run.stopped("next_reply") == [(9000.0, False, "response")]
    # A second cycle (customer 13:00) has ids of its own.
    run.feed(ev("customer_replied", "T", "2026-03-02T13:00:00Z")).until("2026-03-02T15:00:00Z")
    ids = [a.alert_id for a in run.alerts if a.metric == "next_reply"]
    assert len(ids) == len(set(ids)) == 7
    assert run.of("next_reply")[4:] == [
        (NEAR, 0.75, "2026-03-02T14:30:00Z"),
        (NEAR, 0.9, "2026-03-02T14:48:00Z"),
        (BREACH, 1.0, "2026-03-02T15:00:00Z"),
    ]


def test_a_second_customer_reply_does_not_restart_the_clock() -> None:
    # Cycle from 10:00 (deadline 12:00); the reply at 11:00 changes nothing: breach at 12:00,
    # not 13:00.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", "2026-03-02T10:00:00Z"),
        ev("customer_replied", "T", "2026-03-02T11:00:00Z"),
    )
    run.until("2026-03-02T12:00:00Z")
    assert run.of("next_reply")[-1] == (BREACH, 1.0, "2026-03-02T12:00:00Z")


def test_a_customer_reply_before_the_first_response_starts_nothing() -> None:
    run = Run().feed(
        created("T", "2026-03-02T09:00:00Z", "gold", 2),
        ev("customer_replied", "T", "2026-03-02T09:05:00Z"),
        ev("agent_responded", "T", "2026-03-02T09:10:00Z"),
    )
    run.until("2026-03-02T18:00:00Z")
    assert run.of("next_reply") == [] and run.stopped("next_reply") == []


def test_pending_then_back_to_open() -> None:
    # Gold P2 resolution 1d = 24h, from Mon 09:00. Open 09:00-12:00: 3h.
    # Pending Mon 12:00 - Tue 12:00: does not count. 21h remain from Tue 12:00: deadline
    # Wed 09:00. 75% = 18h: 15h after Tue 12:00 -> Wed 03:00; 90% = 21h36 -> Wed 06:36.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", "2026-03-02T12:00:00Z", status="pending"),
        ev("status_changed", "T", "2026-03-03T12:00:00Z", status="open"),
    )
    run.until("2026-03-04T09:00:00Z")
    assert run.of("resolution") == [
        (NEAR, 0.75, "2026-03-04T03:00:00Z"),
        (NEAR, 0.9, "2026-03-04T06:36:00Z"),
        (BREACH, 1.0, "2026-03-04T09:00:00Z"),
    ]
    assert run.alerts[-1].deadline == z("2026-03-04T09:00:00Z")


def test_on_hold_across_a_weekend_for_basic() -> None:
    # Basic P1 resolution 2d = 48h of business time (Mon 00:01 - Fri 23:59, UTC).
    # Created Thu 2026-03-05 10:00; open until Fri 10:00: 24h. On hold Fri 10:00 - Mon 10:00
    # (without the pause Fri 10:00-23:59 and Mon 00:01-10:00 would count: 23h58m). 24h remain
    # from Mon 2026-03-09 10:00: deadline Tue 10:00. 75% = 36h: 12h after -> Mon 22:00;
    # 90% = 43h12m: 19h12m after -> Tue 05:12.
    run = Run().feed(
        created("B", "2026-03-05T10:00:00Z", "basic", 1),
        ev("agent_responded", "B", "2026-03-05T10:30:00Z"),
        ev("status_changed", "B", "2026-03-06T10:00:00Z", status="on_hold"),
        ev("status_changed", "B", "2026-03-09T10:00:00Z", status="open"),
    )
    run.until("2026-03-10T10:00:00Z")
    assert run.of("resolution") == [
        (NEAR, 0.75, "2026-03-09T22:00:00Z"),
        (NEAR, 0.9, "2026-03-10T05:12:00Z"),
        (BREACH, 1.0, "2026-03-10T10:00:00Z"),
    ]


def test_solved_then_reopened() -> None:
    # Gold P2 resolution 24h. Solved Mon 15:00: 6h = 21600 s, met. Reopened (open) 18:00: the
    # 3h while solved do not count; solved again 20:00: 6h + 2h = 28800 s, met. The clock
    # resumed with 18h left: the deadline was Tue 12:00.
    run = Run().feed(
        *answered(),
        ev("status_changed", "T", "2026-03-02T15:00:00Z", status="solved"),
        ev("status_changed", "T", "2026-03-02T18:00:00Z", status="open"),
    )
    assert run.state is not None and run.state.life is not None
    clock = run.state.life.resolution
    assert clock is not None and clock.deadline == z("2026-03-03T12:00:00Z")
    run.feed(ev("status_changed", "T", "2026-03-02T20:00:00Z", status="solved"))
    assert run.stopped("resolution") == [(21600.0, True, "solved"), (28800.0, True, "solved")]
    assert run.alerts == []
    assert run.state.phase == "open"  # reopenable for solved_retention (30d)
    assert run.machine.next_due(run.state) == z("2026-04-01T20:00:00Z")
    run.until("2026-04-01T20:00:00Z")
    assert run.state.phase == "stopped"  # every metric is final: a tombstone


def test_solved_reopened_and_solved_again_sends_two_resolved() -> None:
    # Gold P1 resolution 12h: breached Mon 21:00. Solved Tue 10:00 -> resolved (stop Tue 10:00);
    # reopened 11:00, solved 12:00 -> a second resolved, with its own id (the stop instant).
    run = Run().feed(*answered(priority=1))
    run.until("2026-03-02T21:00:00Z")
    run.feed(
        ev("status_changed", "T", "2026-03-03T10:00:00Z", status="solved"),
        ev("status_changed", "T", "2026-03-03T11:00:00Z", status="open"),
        ev("status_changed", "T", "2026-03-03T12:00:00Z", status="solved"),
    )
    resolved = [a for a in run.alerts if a.metric == "resolution" and a.type == RESOLVED]
    assert [a.due_at for a in resolved] == [z("2026-03-03T10:00:00Z"), z("2026-03-03T12:00:00Z")]
    assert resolved[0].alert_id != resolved[1].alert_id
    # The reopen raised no threshold twice: 0.75, 0.9 and the breach once each.
    assert [a.threshold for a in run.alerts if a.type != RESOLVED] == [0.75, 0.9, 1.0]


def test_closed_is_final() -> None:
    # Closed Mon 10:00: resolution stops (1h = 3600 s, met); every metric is final, the row is a
    # tombstone that ignores a reopen and is deleted 30d (tombstone_retention) later.
    run = Run().feed(
        *answered(), ev("status_changed", "T", "2026-03-02T10:00:00Z", status="closed")
    )
    assert run.stopped("resolution") == [(3600.0, True, "closed")]
    assert run.state is not None and run.state.phase == "stopped"
    assert run.state.life is not None and run.state.life.resolution is None
    state, out = run.machine.apply(
        run.state, ev("status_changed", "T", "2026-03-02T11:00:00Z", status="open"), z(T11)
    )
    assert out.ignored
    assert run.machine.next_due(state) == z("2026-04-01T10:00:00Z")


T11 = "2026-03-02T11:00:00Z"


def test_priority_upgrade_while_paused() -> None:
    # Gold P3 resolution 3d = 72h from Mon 09:00; pending Mon 21:00 (12h spent). Upgraded to
    # P1 (12h) Tue 09:00 while pending: nothing is raised (the clock is paused). Open Tue 10:00:
    # the 12h spent reach 75% (9h), 90% (10h48m) and the breach (12h): all due at the resume.
    run = Run().feed(
        *answered(priority=3),
        ev("status_changed", "T", "2026-03-02T21:00:00Z", status="pending"),
        ev("priority_changed", "T", "2026-03-03T09:00:00Z", priority=1),
    )
    run.until("2026-03-03T09:59:59Z")
    assert run.of("resolution") == []
    run.feed(ev("status_changed", "T", "2026-03-03T10:00:00Z", status="open"))
    run.until("2026-03-03T10:00:00Z")
    assert run.of("resolution") == [
        (NEAR, 0.75, "2026-03-03T10:00:00Z"),
        (NEAR, 0.9, "2026-03-03T10:00:00Z"),
        (BREACH, 1.0, "2026-03-03T10:00:00Z"),
    ]
    assert {a.target_seconds for a in run.alerts} == {43200} and run.alerts[0].priority == 1


def test_priority_upgrade_of_a_running_cycle() -> None:
    # Cycle from 10:00 at gold P2 (2h). Upgraded to P1 (1h) at 10:50, counted from the cycle's
    # start: 75% = 45m -> 10:45 is already past, raised at once; 90% 10:54; breach 11:00.
    run = Run().feed(
        *answered(),
        ev("customer_replied", "T", "2026-03-02T10:00:00Z"),
        ev("priority_changed", "T", "2026-03-02T10:50:00Z", priority=1),
    )
    assert run.of("next_reply") == [(NEAR, 0.75, "2026-03-02T10:45:00Z")]
    run.until("2026-03-02T11:00:00Z")
    assert run.of("next_reply")[1:] == [
        (NEAR, 0.9, "2026-03-02T10:54:00Z"),
        (BREACH, 1.0, "2026-03-02T11:00:00Z"),
    ]


def test_holiday_from_the_package_next_to_a_dst_change() -> None:
    # Basic P2 first response 12h, calendar holidays {country: from_ticket}, ticket country AU,
    # zone Australia/Sydney. Created Thu 2026-04-02 18:00 AEDT (+11, = 07:00Z): the window runs
    # on through midnight, so Thu counts until the holiday closes Fri 00:00: 6h. Fri 04-03 is
    # Good Friday (holidays package), the weekend is closed, DST ends Sun 04-05 (03:00 AEDT ->
    # 02:00 AEST), Mon 04-06 is Easter Monday. The clock goes on Tue 04-07 00:00 AEST (+10,
    # = Mon 14:00Z) with 6h left: deadline 06:00 AEST = 20:00Z.
    # 75% = 9h: 3h on Tue -> 17:00Z; 90% = 10h48m: 4h48m -> 18:48Z.
    run = Run()
    run.feed(
        created("H", "2026-04-02T18:00:00+11:00", "basic", 2, "Australia/Sydney", country="AU")
    )
    run.until("2026-04-06T20:00:00Z")
    assert run.of("first_response") == [
        (NEAR, 0.75, "2026-04-06T17:00:00Z"),
        (NEAR, 0.9, "2026-04-06T18:48:00Z"),
        (BREACH, 1.0, "2026-04-06T20:00:00Z"),
    ]
    # Without a country the package adds nothing: 12h from Thu 18:00 AEDT is Fri 06:00 AEDT
    # = Thu 19:00Z.
    other = Run().feed(created("N", "2026-04-02T18:00:00+11:00", "basic", 2, SYDNEY))
    other.until("2026-04-02T19:00:00Z")
    assert other.of("first_response")[-1] == (BREACH, 1.0, "2026-04-02T19:00:00Z")


def test_a_fixed_country_and_subdivision_with_dates() -> None:
    # {country: US, subdivision: NY, dates: [2026-12-24]}: Thu 2026-11-26 (Thanksgiving) and the
    # explicit Thu 12-24 are closed; an ordinary Wednesday is open.
    chosen = policy(
        **{"holidays: {country: from_ticket}": "holidays: {country: US, subdivision: NY, "
           "dates: [2026-12-24]}"}
    )  # fmt: skip
    calendar = chosen.calendar("basic", "America/New_York")
    at = lambda day: datetime.fromisoformat(f"{day}T12:00:00-05:00")  # noqa: E731
    assert not calendar.is_open(at("2026-11-26"))
    assert not calendar.is_open(at("2026-12-24"))
    assert calendar.is_open(at("2026-11-25"))


def test_a_calendar_is_built_once_per_tier_zone_and_country() -> None:
    chosen = load_policy(EXAMPLE)
    fr = chosen.calendar("basic", "Europe/Paris", "FR")
    assert chosen.calendar("basic", "Europe/Paris", "FR") is fr
    assert chosen.calendar("basic", "Europe/Paris", "DE") is not fr
    # A calendar that does not use the ticket's country is shared by every country.
    assert chosen.calendar("gold", "Europe/Paris", "FR") is chosen.calendar("gold", "Europe/Paris")


def test_policy_show_prints_every_metric_table() -> None:
    from processor.commands.policy import describe_policy

    lines = describe_policy(load_policy(EXAMPLE))
    for header in ("next_reply targets", "resolution targets"):
        start = next(n for n, line in enumerate(lines) if line.startswith(header))
        assert len([line for line in lines[start + 1 : start + 13] if "breach" in line]) == 12
    assert "paused while on_hold, pending" in "\n".join(lines)
