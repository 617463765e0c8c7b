"""The live worker on the real broker with all three metrics enabled gives exactly the alerts
`replay` gives for the same events (ids, due_at, deadline), and `sla.resolved` per metric."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools import (
    Topics,
    WorkerProcess,
    alerts_of,
    produce,
    read_all,
    replayed_alerts,
)
from processor.domain.policy import Policy, load_policy

pytestmark = pytest.mark.integration

POLICY = """
version: live-all-metrics
thresholds: [0.75, 0.9]
calendars:
  always: {type: always}
tiers:
  basic:  {calendar: always, targets: {1: 2h, 2: 12h, 3: 24h, 4: 24h}}
  silver: {calendar: always, targets: {1: 1h, 2: 2h, 3: 8h, 4: 24h}}
  gold:   {calendar: always, targets: {1: 30m, 2: 1h, 3: 4h, 4: 24h}}
metrics:
  next_reply:
    targets:
      basic:  {1: 4h, 2: 12h, 3: 24h, 4: 48h}
      silver: {1: 2h, 2: 4h, 3: 12h, 4: 24h}
      gold:   {1: 10m, 2: 2h, 3: 8h, 4: 24h}
  resolution:
    targets:
      basic:  {1: 2d, 2: 5d, 3: 10d, 4: 20d}
      silver: {1: 1d, 2: 3d, 3: 5d, 4: 10d}
      gold:   {1: 20m, 2: 1h, 3: 3d, 4: 5d}
"""


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class Log:
    """Events of one ticket, with unique event ids."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, tid: str, at: datetime, **fields: Any) -> None:
        n = len(self.events)
        self.events.append(
            {"type": f"ticket.{kind}", "event_id": f"{tid}-{n}", "ticket_id": tid,
             "occurred_at": _iso(at), **fields}
        )  # fmt: skip

    def created(self, tid: str, at: datetime, prio: int) -> None:
        self.add("created", tid, at, customer_id=f"c-{tid}", tier="gold", priority=prio)


def scenario(now: datetime) -> list[dict[str, Any]]:
    m = lambda minutes, seconds=0: now - timedelta(minutes=minutes, seconds=seconds)  # noqa: E731
    log = Log()
    # A: a next-reply cycle (gold P1, 10m) from now-9m40s: 75% and 90% past, breach live +20s.
    log.created("A", m(40), 1)
    log.add("agent_responded", "A", m(39))
    log.add("status_changed", "A", m(12), status="solved")  # resolution (breached) resolved
    log.add("status_changed", "A", m(11, 50), status="open")  # reopened: resolution resumes
    log.add("customer_replied", "A", m(9, 40))
    # N: a cycle breached, then answered: its sla.resolved.
    log.created("N", m(40), 2)
    log.add("agent_responded", "N", m(39))
    log.add("customer_replied", "N", m(38))
    log.add("priority_changed", "N", m(37), priority=1)  # the cycle's target: 10m
    log.add("agent_responded", "N", m(5))
    # B: resolution gold P2 (1h) paused 30m: 75% (45m) due now-5m, not now+25m.
    log.created("B", m(70), 2)
    log.add("agent_responded", "B", m(69))
    log.add("status_changed", "B", m(40), status="pending")
    log.add("status_changed", "B", m(20), status="open")
    # C: solved after 8m, reopened now-11m40s: resolution (20m) breach live at now+20s.
    log.created("C", m(30), 1)
    log.add("agent_responded", "C", m(29))
    log.add("status_changed", "C", m(22), status="solved")
    log.add("status_changed", "C", m(11, 40), status="open")
    # D: resolution breached at now-5m, then solved: its sla.resolved.
    log.created("D", m(25), 1)
    log.add("agent_responded", "D", m(24))
    log.add("status_changed", "D", m(2), status="solved")
    return log.events


def expected(policy: Policy, events: list[dict[str, Any]], until: datetime) -> dict[str, Any]:
    return replayed_alerts(events, until, policy)


def test_live_worker_matches_replay_with_all_three_metrics(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(POLICY)
    policy = load_policy(policy_file)
    now = datetime.now(UTC).replace(microsecond=0)
    events = scenario(now)
    until = now + timedelta(seconds=35)
    want = expected(policy, events, until)
    by_metric = Counter((a["metric"], a["type"]) for a in want.values())
    assert by_metric[("next_reply", "sla.resolved")] == 1  # N
    assert by_metric[("resolution", "sla.resolved")] == 2  # A (breached at now-20m), D
    assert by_metric[("next_reply", "sla.breached")] == 2  # A (live), N
    assert by_metric[("resolution", "sla.breached")] == 4  # A, N (now-20m), C (live), D
    assert by_metric[("resolution", "sla.near_breach")] == 9  # A N C D 2 each, B's 75%
    live = [a for a in want.values() if a["due_at"] > _iso(now + timedelta(seconds=5))]
    assert {(a["ticket_id"], a["metric"]) for a in live} == {
        ("A", "next_reply"),
        ("C", "resolution"),
    }

    worker = WorkerProcess(
        kafka_bootstrap, topics, tmp_path / "w", extra_env={"SLA_POLICY_FILE": str(policy_file)}
    ).start()
    try:
        asyncio.run(produce(kafka_bootstrap, topics.events, events))
        worker.wait_ready()
        wait = (until - datetime.now(UTC)).total_seconds() + 3
        records = asyncio.run(
            read_all(kafka_bootstrap, topics.alerts, timeout=max(wait, 5), idle=1000)
        )
        got = alerts_of(records)
        counts = Counter(a["alert_id"] for a in got)
        assert set(counts) == set(want), (
            f"missing {[want[i] for i in set(want) - set(counts)]}, "
            f"extra {[a for a in got if a['alert_id'] not in want]}"
        )
        assert all(n == 1 for n in counts.values()), counts
        for alert in got:
            mine = want[alert["alert_id"]]
            assert (alert["due_at"], alert["deadline"]) == (mine["due_at"], mine["deadline"])
            assert alert["metric"] == mine["metric"] and alert["type"] == mine["type"]
        status, body = worker.get("/tickets/B")
        view = json.loads(body)
        assert status == 200 and view["status"] == "open"
        assert view["metrics"]["resolution"]["state"] == "running"
        assert view["metrics"]["first_response"] == {"state": "met"}
        status, body = worker.get("/metrics")
        text = body.decode() if isinstance(body, bytes) else body
        assert 'sla_open_tickets{metric="resolution",priority="2",tier="gold"}' in text or (
            'sla_open_tickets{tier="gold",priority="2",metric="resolution"} 1.0' in text
        )
    finally:
        worker.stop()
