"""Properties of the resolution clock's pause arithmetic (docs/contract.md#8-more-sla-metrics):
a paused interval never counts, and pausing and resuming at one instant changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sla_helpers import created, ev
from test_metrics_examples import EXAMPLE

from processor.domain.events import Event
from processor.domain.machine import SlaMachine
from processor.domain.policy import load_policy

MACHINE = SlaMachine(load_policy(EXAMPLE))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=14 * 24 * 60)
tiers = st.sampled_from([("basic", "Europe/Paris"), ("gold", "UTC"), ("basic", "UTC")])
pause_status = st.sampled_from(["pending", "on_hold"])


def at(offset: int) -> str:
    return (START + timedelta(minutes=offset)).isoformat()


def run(events: list[Event], end: datetime) -> tuple[list[tuple[str, str, str]], list[float]]:
    """(type, alert id, due_at) of every resolution alert up to `end`, and resolution stops."""
    state, alerts, stops = None, [], []
    for event in events:
        state, out = MACHINE.apply(state, event, event.occurred_at)
        alerts += out.alerts
        stops += [s.business_seconds for s in out.stops if s.metric == "resolution"]
    assert state is not None
    alerts += MACHINE.due(state, end, end, inclusive=True).alerts
    chosen = [
        (a.type, a.alert_id, a.due_at.isoformat()) for a in alerts if a.metric == "resolution"
    ]
    return chosen, stops


@settings(max_examples=60, deadline=None)
@given(tiers, st.integers(1, 4), minutes, minutes, minutes, pause_status)
def test_a_paused_interval_never_counts(
    tier_zone: tuple[str, str], priority: int, a: int, b: int, c: int, status: str
) -> None:
    # created at START; paused at p, resumed at r, solved at s (p <= r <= s): the stop counts
    # between(START, p) + between(r, s) of the tier's calendar, nothing of [p, r).
    tier, zone = tier_zone
    p, r, s = sorted((a, b, c))
    events = [
        created("P", START.isoformat(), tier, priority, zone),
        ev("agent_responded", "P", at(0)),
        ev("status_changed", "P", at(p), status=status),
        ev("status_changed", "P", at(r), status="open"),
        ev("status_changed", "P", at(s), status="solved"),
    ]
    _, stops = run(events, START + timedelta(minutes=s))
    calendar = MACHINE.policy.calendar(tier, zone)  # type: ignore[arg-type]
    moments = [START + timedelta(minutes=m) for m in (p, r, s)]
    expected = calendar.between(START, moments[0]) + calendar.between(moments[1], moments[2])
    assert stops == [expected.total_seconds()]


@settings(max_examples=60, deadline=None)
@given(tiers, st.integers(1, 4), minutes, minutes, pause_status)
def test_pausing_and_resuming_at_one_instant_changes_nothing(
    tier_zone: tuple[str, str], priority: int, a: int, b: int, status: str
) -> None:
    tier, zone = tier_zone
    t, s = sorted((a, b))
    base = [
        created("Q", START.isoformat(), tier, priority, zone),
        ev("agent_responded", "Q", at(0)),
    ]
    solved = ev("status_changed", "Q", at(s), status="solved")
    blink = [
        ev("status_changed", "Q", at(t), status=status),
        ev("status_changed", "Q", at(t), status="open"),
    ]
    end = START + timedelta(days=30)
    assert run([*base, *blink, solved], end) == run([*base, solved], end)
    assert run([*base, *blink], end) == run(base, end)
