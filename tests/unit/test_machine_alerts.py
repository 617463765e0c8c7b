"""What every alert of the core carries: the ticket's customer and tier, the pinned id of a
first response's `sla.resolved`, and `emitted_at` = the `now` given to `apply` (not the event's
time) on every path that raises (found with mutation testing of the core's fast paths,
docs/mutation.md). Default policy: gold P1 first response 30 min (75% 22:30, 90% 27:00);
all-metrics policy: see test_metrics_examples.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from sla_helpers import created, ev, z
from test_metrics_examples import EXAMPLE

from processor.domain.alerts import Alert
from processor.domain.events import Event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy, load_policy
from processor.domain.state import TicketState

NOW = z("2026-03-02T15:00:00Z")  # the wall clock of the call, after every event here
T0 = "2026-03-02T10:00:00Z"


def feed(machine: SlaMachine, events: list[Event], now: datetime = NOW) -> list[Alert]:
    state: TicketState | None = None
    alerts: list[Alert] = []
    for event in events:
        state, out = machine.apply(state, event, now)
        alerts += out.alerts
    return alerts


def test_a_first_response_resolved_alert_has_its_pinned_id_and_the_tickets_fields() -> None:
    # Answered at 10:40, after the breach (10:30): the response raises 75%, 90%, breach, then
    # sla.resolved, all stamped with the call's now.
    alerts = feed(
        SlaMachine(default_policy()),
        [created("T", T0, "gold", 1), ev("agent_responded", "T", "2026-03-02T10:40:00Z")],
    )
    assert [a.type for a in alerts] == [
        "sla.near_breach",
        "sla.near_breach",
        "sla.breached",
        "sla.resolved",
    ]
    # uuid5 of "T\x1ffirst_response\x1fresolved" (alerts.alert_id).
    assert alerts[-1].alert_id == "e1e3789f-54d5-5213-9ea8-6837564575d3"
    assert {(a.customer_id, a.tier, a.priority, a.emitted_at) for a in alerts} == {
        ("c-1", "gold", 1, NOW)
    }


def test_a_solved_first_response_ticket_stamps_its_resolved_now() -> None:
    alerts = feed(
        SlaMachine(default_policy()),
        [
            created("T", T0, "gold", 1),
            ev("status_changed", "T", "2026-03-02T10:40:00Z", status="solved"),
        ],
    )
    assert (alerts[-1].type, alerts[-1].emitted_at) == ("sla.resolved", NOW)


def test_alerts_a_priority_upgrade_puts_behind_it_are_stamped_now() -> None:
    # All metrics, gold P3 (first response 4h) created 10:00; P1 (30 min) at 10:40: the first
    # response's 75%, 90% and breach are behind the change, raised by it, stamped now.
    alerts = feed(
        SlaMachine(load_policy(EXAMPLE)),
        [
            created("T", T0, "gold", 3),
            ev("priority_changed", "T", "2026-03-02T10:40:00Z", priority=1),
        ],
    )
    assert [(a.threshold, a.emitted_at) for a in alerts] == [(0.75, NOW), (0.9, NOW), (1.0, NOW)]


def test_a_breached_resolution_solved_sends_its_resolved_stamped_now() -> None:
    # All metrics, gold P1 resolution 12h from 10:00: breached 22:00; solved 23:00 (with a
    # first response at 10:10): the resolution's sla.resolved is stamped now.
    machine = SlaMachine(load_policy(EXAMPLE))
    later = NOW + timedelta(days=1)
    alerts = feed(
        machine,
        [
            created("T", T0, "gold", 1),
            ev("agent_responded", "T", "2026-03-02T10:10:00Z"),
            ev("status_changed", "T", "2026-03-02T23:00:00Z", status="solved"),
        ],
        later,
    )
    resolved = [a for a in alerts if a.metric == "resolution" and a.type == "sla.resolved"]
    assert [a.emitted_at for a in resolved] == [later]
