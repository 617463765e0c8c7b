"""PagerDuty Events API v2 contract: the forwarder against a local receiver that checks every
request against the documented schema (tests/pagerduty_receiver.py), on the real broker.

Trigger and resolve per (ticket, metric) incident with one dedup_key; 429 waits for Retry-After;
500 is retried until accepted; a malformed routing key is refused at start-up; a 400 for an
invalid key stops the forwarder with one line, committing nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pagerduty_receiver import PagerDutyReceiver
from paging_helpers import ForwarderProcess, replay_alerts
from worker_harness import Topics, committed, create_topics, produce, wait_committed

from processor.domain.alerts import Alert

pytestmark = pytest.mark.integration

KEY = "0123456789abcdef0123456789ABCDEF"
OTHER_KEY = "ffffffffffffffffffffffffffffffff"


def _scenario(now: datetime) -> list[Alert]:
    """T-answered: gold P1, 75%, 90%, breach, then answered; T-low: gold P3, open (not routed)."""

    def stamp(delta: timedelta) -> str:
        return (now - delta).isoformat().replace("+00:00", "Z")

    events: list[dict[str, Any]] = [
        {"type": "ticket.created", "event_id": "e1", "ticket_id": "T-answered",
         "occurred_at": stamp(timedelta(minutes=40)), "customer_id": "c-1", "tier": "gold",
         "priority": 1},
        {"type": "ticket.created", "event_id": "e2", "ticket_id": "T-low",
         "occurred_at": stamp(timedelta(hours=4, minutes=10)), "customer_id": "c-2",
         "tier": "gold", "priority": 3},
        {"type": "ticket.agent_responded", "event_id": "e3", "ticket_id": "T-answered",
         "occurred_at": stamp(timedelta(minutes=2))},
    ]  # fmt: skip
    events.sort(key=lambda e: e["occurred_at"])
    return replay_alerts(events, until=now)


@pytest.fixture
def receiver() -> Iterator[PagerDutyReceiver]:
    with PagerDutyReceiver({KEY}) as r:
        yield r


@pytest.fixture
def topics(kafka_bootstrap: str, unique_name: Any) -> Topics:
    t = Topics(unique_name("ev"), unique_name("alerts"), unique_name("dlq"), unique_name("g"))
    asyncio.run(create_topics(kafka_bootstrap, t))
    return t


def _forwarder(
    bootstrap: str, topics: Topics, receiver: PagerDutyReceiver, tmp_path: Path, **env: str
) -> ForwarderProcess:
    return ForwarderProcess(
        bootstrap, topics.alerts, f"{topics.app_id}-page", tmp_path / "fwd",
        env_extra={
            "SLA_PAGING_TARGETS": '["pagerduty"]',
            "SLA_PAGERDUTY_URL": receiver.url,
            "SLA_PAGERDUTY_ROUTING_KEY": KEY,
            "SLA_PAGERDUTY_RATE_PER_MINUTE": "6000",
            "SLA_PAGING_ROUTES": '{"pagerduty": {"priorities": [1, 2]}}',
            **env,
        },
    )  # fmt: skip


def _publish(bootstrap: str, topics: Topics, alerts: list[Alert]) -> dict[int, int]:
    return asyncio.run(
        produce(
            bootstrap,
            topics.alerts,
            [a.model_dump(mode="json") for a in alerts],
            [a.ticket_id.encode() for a in alerts],
        )
    )


def test_trigger_then_resolve_one_dedup_key_per_incident(
    kafka_bootstrap: str, topics: Topics, receiver: PagerDutyReceiver, tmp_path: Path
) -> None:
    alerts = _scenario(datetime.now(UTC).replace(microsecond=0))
    kinds = [(a.ticket_id, a.type) for a in alerts]
    assert ("T-answered", "sla.resolved") in kinds and ("T-low", "sla.breached") in kinds
    last = _publish(kafka_bootstrap, topics, alerts)
    forwarder = _forwarder(kafka_bootstrap, topics, receiver, tmp_path).start()
    try:
        wait_committed(kafka_bootstrap, f"{forwarder.group_prefix}-pagerduty", topics.alerts, last)
    finally:
        assert forwarder.stop() == 0, forwarder.log()
    events = receiver.accepted()
    assert receiver.violations == []
    assert [(e["event_action"], e.get("payload", {}).get("severity")) for e in events] == [
        ("trigger", "warning"),
        ("trigger", "warning"),
        ("trigger", "critical"),
        ("resolve", None),
    ]
    assert {e["dedup_key"] for e in events} == {"sla/T-answered/first_response"}
    assert {e["routing_key"] for e in events} == {KEY}
    trigger = events[2]["payload"]
    assert trigger["source"] == "sla-processor" and trigger["class"] == "sla.breached"
    assert trigger["custom_details"]["ticket_id"] == "T-answered"
    assert KEY not in forwarder.log()


def test_429_waits_for_retry_after_then_delivers_once(
    kafka_bootstrap: str, topics: Topics, receiver: PagerDutyReceiver, tmp_path: Path
) -> None:
    alerts = [a for a in _scenario(datetime.now(UTC)) if a.ticket_id == "T-answered"][:1]
    receiver.script.append((429, {"Retry-After": "3"}))
    last = _publish(kafka_bootstrap, topics, alerts)
    forwarder = _forwarder(kafka_bootstrap, topics, receiver, tmp_path).start()
    try:
        wait_committed(kafka_bootstrap, f"{forwarder.group_prefix}-pagerduty", topics.alerts, last)
        metrics = forwarder.metrics()
    finally:
        forwarder.stop()
    assert [r.status for r in receiver.received] == [429, 202]
    first, second = receiver.received
    assert second.at - first.at >= 2.9, "retried before Retry-After"
    assert first.body == second.body
    assert 'sla_paging_retried_total{reason="rate_limited",target="pagerduty"} 1.0' in metrics
    assert 'sla_paging_forwarded_total{kind="sla.near_breach",target="pagerduty"} 1.0' in metrics


def test_500_is_retried_with_backoff_until_accepted(
    kafka_bootstrap: str, topics: Topics, receiver: PagerDutyReceiver, tmp_path: Path
) -> None:
    alerts = [a for a in _scenario(datetime.now(UTC)) if a.ticket_id == "T-answered"]
    receiver.script.extend([(500, {}), (503, {})])
    last = _publish(kafka_bootstrap, topics, alerts)
    forwarder = _forwarder(kafka_bootstrap, topics, receiver, tmp_path).start()
    try:
        wait_committed(kafka_bootstrap, f"{forwarder.group_prefix}-pagerduty", topics.alerts, last)
        metrics = forwarder.metrics()
    finally:
        forwarder.stop()
    assert [r.status for r in receiver.received] == [500, 503, 202, 202, 202, 202]
    assert [e["event_action"] for e in receiver.accepted()] == ["trigger"] * 3 + ["resolve"]
    assert 'sla_paging_retried_total{reason="server_error",target="pagerduty"} 2.0' in metrics
    assert receiver.violations == []


def test_malformed_routing_key_is_refused_at_start_up(
    kafka_bootstrap: str, topics: Topics, receiver: PagerDutyReceiver, tmp_path: Path
) -> None:
    secret = "not-a-key-" + "s3cr3t"
    forwarder = _forwarder(
        kafka_bootstrap, topics, receiver, tmp_path, SLA_PAGERDUTY_ROUTING_KEY=secret
    ).start()
    assert forwarder.proc is not None
    assert forwarder.proc.wait(60) == 1
    lines = forwarder.log().strip().splitlines()
    assert len(lines) == 1, lines
    assert "SLA_PAGERDUTY_ROUTING_KEY is malformed" in lines[0]
    assert secret not in lines[0]
    assert receiver.received == []


def test_400_for_an_invalid_key_stops_with_one_line_committing_nothing(
    kafka_bootstrap: str, topics: Topics, receiver: PagerDutyReceiver, tmp_path: Path
) -> None:
    alerts = [a for a in _scenario(datetime.now(UTC)) if a.ticket_id == "T-answered"]
    _publish(kafka_bootstrap, topics, alerts)
    forwarder = _forwarder(
        kafka_bootstrap, topics, receiver, tmp_path, SLA_PAGERDUTY_ROUTING_KEY=OTHER_KEY
    ).start()
    assert forwarder.proc is not None
    assert forwarder.proc.wait(90) == 1, forwarder.log()
    errors = [line for line in forwarder.log().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "HTTP 400" in errors[0] and "Invalid routing key" in errors[0]
    assert "SLA_PAGERDUTY_ROUTING_KEY" in errors[0] and OTHER_KEY not in forwarder.log()
    assert [r.status for r in receiver.received] == [400]
    group = f"{forwarder.group_prefix}-pagerduty"
    assert asyncio.run(committed(kafka_bootstrap, group, topics.alerts)) == {}
    assert json.dumps(receiver.received[0].body).count(OTHER_KEY) == 1
