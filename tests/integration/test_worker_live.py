"""The live worker against the real broker (issue 4's scenarios).

Tickets are backdated so their thresholds fall either in the past (raised on catch-up) or a few
seconds into the test (raised live); the expected alerts come from the same events through
`replay`, so the live worker and the offline replay are checked against each other.
"""

from __future__ import annotations

import asyncio
import json
import time
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

pytestmark = pytest.mark.integration


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def created(tid: str, at: datetime, tier: str, prio: int, tz: str = "UTC") -> dict[str, Any]:
    return {
        "type": "ticket.created",
        "event_id": f"{tid}-c",
        "ticket_id": tid,
        "occurred_at": _iso(at),
        "customer_id": f"cust-{tid}",
        "tier": tier,
        "priority": prio,
        "timezone": tz,
    }


def responded(tid: str, at: datetime, public: bool = True) -> dict[str, Any]:
    return {
        "type": "ticket.agent_responded",
        "event_id": f"{tid}-r-{public}",
        "ticket_id": tid,
        "occurred_at": _iso(at),
        "agent_id": "a-1",
        "public": public,
    }


def reprioritised(tid: str, at: datetime, prio: int) -> dict[str, Any]:
    return {
        "type": "ticket.priority_changed",
        "event_id": f"{tid}-p{prio}",
        "ticket_id": tid,
        "occurred_at": _iso(at),
        "priority": prio,
    }


def expected(events: list[dict[str, Any]], until: datetime) -> dict[str, dict[str, Any]]:
    """alert_id -> alert, from `replay` of the same events up to `until`."""
    return replayed_alerts(events, until)


def _start(
    workers: list[WorkerProcess], bootstrap: str, topics: Topics, data: Path, **env: str
) -> WorkerProcess:
    w = WorkerProcess(bootstrap, topics, data, extra_env=env).start()
    workers.append(w)
    return w


def test_scenario_alerts_once_with_right_due_at_and_live_within_2s(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        # A gold P1 (30m): 75% and 90% already past; breach live at now+25s.
        created("A", now - timedelta(minutes=29, seconds=35), "gold", 1),
        # B silver P1 (1h): 75% past; 90% (54m) live at now+20s; breach far in the future.
        created("B", now - timedelta(minutes=53, seconds=40), "silver", 1),
        # C answered before any threshold: nothing.
        created("C", now - timedelta(minutes=50), "gold", 2),
        responded("C", now - timedelta(minutes=40)),
        # D: both near-breaches passed before its (late-ish) response, then resolved.
        created("D", now - timedelta(minutes=29), "gold", 1),
        responded("D", now - timedelta(minutes=1)),
        # E: silver P3 upgraded to P1 after 70 minutes: all new thresholds in the past at once.
        created("E", now - timedelta(minutes=70), "silver", 3),
        reprioritised("E", now - timedelta(minutes=1), 1),
        # F: an internal note does not stop the clock (gold P4 24h: nothing due in the test).
        created("F", now - timedelta(minutes=5), "gold", 4),
        responded("F", now - timedelta(minutes=4), public=False),
    ]
    until = now + timedelta(seconds=35)
    want = expected(events, until)
    assert len(want) == 11  # A3 + B2 + D3 (2 near + resolved) + E3

    worker = _start(workers, kafka_bootstrap, topics, tmp_path / "w1")
    asyncio.run(produce(kafka_bootstrap, topics.events, events))
    worker.wait_ready()
    wait = (until - datetime.now(UTC)).total_seconds() + 3
    got = alerts_of(
        asyncio.run(read_all(kafka_bootstrap, topics.alerts, timeout=max(wait, 5), idle=1000))
    )
    counts = Counter(a["alert_id"] for a in got)
    assert set(counts) == set(want), (
        f"missing {set(want) - set(counts)}, extra {set(counts) - set(want)}"
    )
    assert all(n == 1 for n in counts.values()), counts
    for alert in got:
        assert alert["due_at"] == want[alert["alert_id"]]["due_at"]
        assert alert["deadline"] == want[alert["alert_id"]]["deadline"]
    live = [
        a
        for a in got
        if a["alert_id"]
        in {_id for _id, w in want.items() if w["due_at"] > _iso(now + timedelta(seconds=5))}
    ]
    assert len(live) == 2  # A's breach and B's 90%
    for alert in live:
        delay = (
            datetime.fromisoformat(alert["emitted_at"]) - datetime.fromisoformat(alert["due_at"])
        ).total_seconds()
        assert 0 <= delay <= 2.0, alert

    status, body = worker.get("/tickets/B")
    view = json.loads(body)
    assert status == 200 and view["state"] == "awaiting_first_response"
    assert view["deadline"] == _iso(now - timedelta(minutes=53, seconds=40) + timedelta(hours=1))
    assert 0 < view["remaining_business_seconds"] <= 6 * 60 + 20
    assert len(view["alerts_sent"]) == 2
    assert worker.get("/tickets/nope")[0] == 404


def test_catch_up_after_downtime_raises_no_false_breach(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        # Answered on time two hours ago; its deadline is long past.
        created("ok", now - timedelta(hours=2), "gold", 1),
        responded("ok", now - timedelta(hours=2) + timedelta(minutes=10)),
        # Control: never answered, so the worker must page for it.
        created("late", now - timedelta(hours=2), "gold", 1),
    ]
    asyncio.run(produce(kafka_bootstrap, topics.events, events))  # worker not running yet
    worker = _start(workers, kafka_bootstrap, topics, tmp_path / "w1")
    worker.wait_ready()
    got = alerts_of(
        asyncio.run(read_all(kafka_bootstrap, topics.alerts, until_count=3, timeout=30))
    )
    time.sleep(3)  # several more ticks
    got = alerts_of(asyncio.run(read_all(kafka_bootstrap, topics.alerts, idle=2)))
    assert sorted(a["type"] for a in got) == ["sla.breached", "sla.near_breach", "sla.near_breach"]
    assert {a["ticket_id"] for a in got} == {"late"}


def test_kill_9_between_near_breach_and_breach_loses_nothing(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # Gold P1: near-breaches already due; breach 40 s from now.
    events = [
        created(f"K{i}", now - timedelta(minutes=29, seconds=20), "gold", 1) for i in range(8)
    ]
    want = expected(events, now + timedelta(seconds=41))
    assert len(want) == 24
    asyncio.run(produce(kafka_bootstrap, topics.events, events))
    first = _start(workers, kafka_bootstrap, topics, tmp_path / "w1")
    first.wait_ready()
    asyncio.run(read_all(kafka_bootstrap, topics.alerts, until_count=16, timeout=30))
    first.kill()
    second = _start(workers, kafka_bootstrap, topics, tmp_path / "w1")
    second.wait_ready()
    wait = (now + timedelta(seconds=44) - datetime.now(UTC)).total_seconds()
    got = alerts_of(
        asyncio.run(
            read_all(kafka_bootstrap, topics.alerts, until_count=10**6, timeout=max(wait, 5))
        )
    )
    counts = Counter(a["alert_id"] for a in got)
    assert set(counts) == set(want)
    duplicates = sum(counts.values()) - len(counts)
    print(f"kill -9 restart: {len(want)} expected, {len(got)} received, {duplicates} duplicates")


def test_two_workers_one_stops_and_its_tickets_still_alert(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        created(f"R{i}", now - timedelta(minutes=28, seconds=45), "gold", 1) for i in range(24)
    ]  # breach 75 s from now (room for a slow rebalance), spread over the 4 partitions
    want = expected(events, now + timedelta(seconds=76))
    one = _start(workers, kafka_bootstrap, topics, tmp_path / "w1", SLA_STORE="rocksdb://")
    two = _start(workers, kafka_bootstrap, topics, tmp_path / "w2", SLA_STORE="rocksdb://")
    one.wait_ready()
    two.wait_ready()
    asyncio.run(produce(kafka_bootstrap, topics.events, events))
    asyncio.run(read_all(kafka_bootstrap, topics.alerts, until_count=48, timeout=40))
    two.stop()
    wait = (now + timedelta(seconds=82) - datetime.now(UTC)).total_seconds()
    got = alerts_of(
        asyncio.run(
            read_all(kafka_bootstrap, topics.alerts, until_count=10**6, timeout=max(wait, 5))
        )
    )
    counts = Counter(a["alert_id"] for a in got)
    assert set(counts) == set(want)
    assert sum(1 for a in got if a["type"] == "sla.breached") >= 24


def test_malformed_input_goes_to_the_dlq_while_good_events_flow(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    good = created("G", now - timedelta(hours=1), "gold", 1)
    bad_priority = {**created("P7", now, "gold", 1), "priority": 7}
    naive = {**created("N", now, "gold", 1), "occurred_at": "2026-01-05T09:00:00"}
    unknown = {**created("U", now, "gold", 1), "type": "ticket.merged"}
    values: list[Any] = [
        b"this is not json",
        unknown,
        bad_priority,
        naive,
        b"{" + b" " * (2 * 1024 * 1024) + b"}",
        good,
    ]
    keys = [b"x", b"U", b"P7", b"N", b"big", b"G"]
    worker = _start(workers, kafka_bootstrap, topics, tmp_path / "w1")
    worker.wait_ready()
    asyncio.run(produce(kafka_bootstrap, topics.events, values, keys=keys))
    dlq = asyncio.run(read_all(kafka_bootstrap, topics.dlq, until_count=5, timeout=30))
    reasons = {r.key: dict(r.headers)["sla-dlq-reason"].decode() for r in dlq}
    assert reasons == {
        b"x": "not_json",
        b"U": "unknown_type",
        b"P7": "invalid_field",
        b"N": "invalid_field",
        b"big": "oversized",
    }
    big = next(r for r in dlq if r.key == b"big")
    assert len(big.value) == 2 * 1024 * 1024 + 2  # original bytes kept
    headers = dict(big.headers)
    assert headers["sla-dlq-topic"].decode() == topics.events
    assert int(headers["sla-dlq-offset"]) >= 0
    got = alerts_of(
        asyncio.run(read_all(kafka_bootstrap, topics.alerts, until_count=3, timeout=30))
    )
    assert [a["ticket_id"] for a in got] == ["G", "G", "G"]
    _, metrics = worker.get("/metrics")
    assert b'sla_invalid_events_total{reason="oversized"} 1.0' in metrics
