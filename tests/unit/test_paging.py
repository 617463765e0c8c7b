"""Paging without I/O: the incident book, payloads, settings, backoff and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pagerduty_receiver import contract_violations
from pydantic import SecretStr, ValidationError

from processor.domain.alerts import Alert, alert_id
from processor.paging.alertmanager import postable
from processor.paging.delivery import Backoff, retry_after_seconds
from processor.paging.forwarder import decode_alert
from processor.paging.incidents import IncidentBook
from processor.paging.pagerduty import dedup_key, event_for
from processor.settings import PagingSettings, Route

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def alert(
    kind: str,
    threshold: float | None,
    *,
    priority: int = 1,
    deadline_min: int = 30,
    ticket: str = "T-1",
    metric: str = "first_response",
    at_min: float = 0,
) -> Alert:
    deadline = T0 + timedelta(minutes=deadline_min)
    due = T0 + timedelta(minutes=at_min)
    return Alert(
        type=kind,  # type: ignore[arg-type]
        alert_id=alert_id(ticket, metric, deadline if threshold is not None else None, threshold),
        ticket_id=ticket, customer_id="c-1", tier="gold", priority=priority, metric=metric,
        threshold=threshold, due_at=due, deadline=deadline, target_seconds=1800,
        policy_version="v1", emitted_at=due,
    )  # fmt: skip


def actions(book: IncidentBook, *alerts: Alert) -> list[str]:
    return [c.action for a in alerts for c in book.apply(0, a)]


def test_fire_update_breach_relabels_then_resolve_ends() -> None:
    book = IncidentBook(Route())
    near75, near90 = alert("sla.near_breach", 0.75), alert("sla.near_breach", 0.9)
    breach, resolved = alert("sla.breached", 1.0), alert("sla.resolved", None, at_min=40)
    assert actions(book, near75, near90, breach) == ["fire", "update", "relabel"]
    page = next(book.firing())
    assert page.severity == "critical" and page.started_at == breach.due_at
    assert actions(book, resolved) == ["end"]
    assert len(book) == 0


def test_repeats_and_near_breach_behind_its_breach_change_nothing() -> None:
    book = IncidentBook(Route())
    breach = alert("sla.breached", 1.0)
    assert actions(book, breach, breach, alert("sla.near_breach", 0.9)) == ["fire"]
    assert actions(book, alert("sla.resolved", None), alert("sla.resolved", None)) == ["end"]


def test_priority_change_ends_the_old_page_and_fires_the_new_one() -> None:
    book = IncidentBook(Route())
    assert actions(book, alert("sla.near_breach", 0.75, priority=2, deadline_min=60)) == ["fire"]
    [change] = book.apply(0, alert("sla.breached", 1.0, priority=1, at_min=5))
    assert change.action == "relabel" and change.previous is not None
    assert change.previous.alert.priority == 2 and change.page.alert.priority == 1


def test_incidents_are_per_ticket_and_metric() -> None:
    book = IncidentBook(Route())
    a = alert("sla.breached", 1.0)
    b = alert("sla.breached", 1.0, metric="resolution")
    assert actions(book, a, b) == ["fire", "fire"]
    assert actions(book, alert("sla.resolved", None, metric="resolution")) == ["end"]
    assert [p.alert.metric for p in book.firing()] == ["first_response"]


def test_route_filters_triggers_but_a_resolve_always_follows_an_open_page() -> None:
    book = IncidentBook(Route(kinds=("sla.breached",), priorities=(1, 2)))
    assert actions(book, alert("sla.near_breach", 0.75)) == []
    assert actions(book, alert("sla.breached", 1.0)) == ["fire"]
    assert actions(book, alert("sla.breached", 1.0, priority=3, deadline_min=240)) == []
    assert actions(book, alert("sla.resolved", None, priority=3)) == ["end"]
    assert actions(book, alert("sla.resolved", None, ticket="T-other")) == []


def test_drop_forgets_a_partition() -> None:
    book = IncidentBook(Route())
    book.apply(0, alert("sla.breached", 1.0))
    book.apply(1, alert("sla.breached", 1.0, ticket="T-2"))
    book.drop({0})
    assert [p.alert.ticket_id for p in book.firing()] == ["T-2"]


def test_alertmanager_body_has_identity_routing_labels_and_annotations() -> None:
    book = IncidentBook(Route())
    [change] = book.apply(0, alert("sla.breached", 1.0))
    body = postable(change.page, T0 + timedelta(hours=1), "https://h.example/t/T-1")
    assert body["labels"] == {
        "alertname": "SlaTicketDeadline", "ticket": "T-1", "metric": "first_response",
        "tier": "gold", "severity": "critical", "priority": "1",
    }  # fmt: skip
    assert body["annotations"]["policy_version"] == "v1"
    assert body["annotations"]["deadline"] == "2026-03-02T09:30:00Z"
    assert body["startsAt"] == "2026-03-02T09:00:00Z" and body["endsAt"] == "2026-03-02T10:00:00Z"
    assert body["generatorURL"] == "https://h.example/t/T-1"
    assert postable(change.page, T0 - timedelta(hours=1), None)["endsAt"] == body["startsAt"]


def test_pagerduty_events_follow_the_documented_schema() -> None:
    book = IncidentBook(Route())
    key = "k" * 32
    changes = [*book.apply(0, alert("sla.near_breach", 0.75, ticket="T" * 128)),
               *book.apply(0, alert("sla.resolved", None, ticket="T" * 128))]  # fmt: skip
    events = [event_for(c, key, "sla-processor", "https://h.example/t") for c in changes]
    assert [contract_violations(e) for e in events] == [[], []]
    assert [e["event_action"] for e in events] == ["trigger", "resolve"]
    assert events[0]["payload"]["severity"] == "warning"
    assert (
        events[0]["dedup_key"] == events[1]["dedup_key"] == dedup_key("T" * 128, "first_response")
    )
    assert contract_violations({"routing_key": key, "event_action": "resolve"}) != []


def test_decode_alert_gives_one_line_reasons_for_poison() -> None:
    good = alert("sla.breached", 1.0)
    assert decode_alert(good.to_json().encode()) == good
    for raw in (b"{not json", b'{"type": "sla.breached"}', b"\xff\xfe", None):
        reason = decode_alert(raw)
        assert isinstance(reason, str) and "\n" not in reason


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"paging_targets": ["pagerduty"]}, "needs SLA_PAGERDUTY_ROUTING_KEY"),
        ({"paging_targets": ["pagerduty"], "pagerduty_routing_key": "abc"}, "malformed"),
        ({"paging_routes": {"pagerduty": {"kinds": ["sla.resolved"]}}}, "paging_routes"),
        ({"paging_routes": {"opsgenie": {}}}, "paging_routes"),
        ({"paging_routes": {"alertmanager": {"priorities": [7]}}}, "paging_routes"),
        ({"ticket_url_template": "https://x/{customer}"}, "only {ticket_id} and {metric}"),
        ({"alertmanager_url": "localhost:9093"}, "http:// or https://"),
        ({"alertmanager_resend_seconds": 600}, "at least 2 resend intervals"),
    ],
)
def test_paging_settings_are_validated(env: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        PagingSettings(**env)
    assert message in str(info.value)


def test_routing_key_is_a_secret() -> None:
    key = "a1" * 16
    settings = PagingSettings(paging_targets=("pagerduty",), pagerduty_routing_key=SecretStr(key))
    assert key not in repr(settings) and key not in str(settings.model_dump())
    assert settings.route("pagerduty").accepts("sla.breached", "gold", 2, "first_response")
    assert not settings.route("pagerduty").accepts("sla.near_breach", "gold", 1, "first_response")
    assert settings.group_id("pagerduty") == "sla-processor-page-pagerduty"


def test_backoff_grows_with_jitter_up_to_the_cap_and_honours_retry_after() -> None:
    backoff = Backoff(0.5, 8.0, random.Random(1))
    delays = [backoff.delay(n, None) for n in range(10)]
    assert 0.25 <= delays[0] <= 0.5 and all(4.0 <= d <= 8.0 for d in delays[5:])
    assert len(set(delays)) == len(delays)
    assert backoff.delay(0, 20.0) == 20.0


def test_retry_after_seconds_or_http_date() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("Mon, 02 Mar 2026 09:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


class _Recorder:
    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def post(self, url: str, body: Any, accept: tuple[int, ...]) -> None:
        self.bodies.append(body)


async def test_pagerduty_catch_up_window_sends_only_the_resolve_of_an_ended_incident() -> None:
    from processor.paging.pagerduty import PagerDutyTarget

    settings = PagingSettings(
        paging_targets=("pagerduty",),
        pagerduty_routing_key=SecretStr("k" * 32),
        pagerduty_rate_per_minute=60_000,
    )
    book = IncidentBook(Route())
    changes = [
        *book.apply(0, alert("sla.breached", 1.0)),
        *book.apply(0, alert("sla.resolved", None)),
        *book.apply(0, alert("sla.breached", 1.0, ticket="T-2")),
    ]
    for catch_up, expected in ((False, ["trigger", "resolve", "trigger"]),
                               (True, ["resolve", "trigger"])):  # fmt: skip
        sender = _Recorder()
        target = PagerDutyTarget(settings, sender)  # type: ignore[arg-type]
        await target.deliver(changes, catch_up)
        assert [b["event_action"] for b in sender.bodies] == expected
