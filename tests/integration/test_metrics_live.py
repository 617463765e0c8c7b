"""Exact metric values of one real worker after a known scenario (docs/contract.md#6-metrics).

One worker on the real broker reads a scenario whose every number is known in advance; once the
expected alerts are on the alerts topic and the worker has read all its input, a scrape of
`/metrics` must show exactly those numbers, label by label (every other series of the same
families must be 0). Then the worker is restarted on the same state dir: the open / at-risk /
breached gauges come from the ticket table, so they must be the same as before, while the
process counts no alert and no response (nothing is sent again).

Times are relative to `now` (whole seconds), so first-response times are exact wall seconds (gold
and silver run 24x7). Nothing in the scenario falls due between the last live breach (now+8s) and
J's 90% threshold (now+8m), far beyond the test's duration.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools import Topics, WorkerProcess, alerts_of, produce, read_all
from processor.domain.policy import TIERS, default_policy

pytestmark = pytest.mark.integration

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]

TIER_PRIO = [(tier, str(prio)) for tier in ("basic", "silver", "gold") for prio in (1, 2, 3, 4)]
FIRST_RESPONSE_BUCKETS = (
    *(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800),
    *(432000, 1209600),  # 5 and 14 days (resolution times share the histogram)
)
SCRAPE_DEADLINE = 30.0


# ---- scenario ------------------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _event(kind: str, tid: str, eid: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": eid, "ticket_id": tid, "occurred_at": _iso(at), **fields}


def created(tid: str, at: datetime, tier: str, prio: int) -> dict[str, Any]:
    return _event(
        "ticket.created", tid, f"{tid}-c", at, customer_id="acme", tier=tier, priority=prio
    )


def responded(tid: str, at: datetime, public: bool = True) -> dict[str, Any]:
    return _event("ticket.agent_responded", tid, f"{tid}-r{int(public)}", at, public=public)


def scenario(now: datetime) -> list[dict[str, Any]]:
    """Events of the test; the comments give what each ticket must do to the metrics."""

    def ago(**delta: int) -> datetime:
        return now - timedelta(**delta)

    return [
        # A, B: gold P1 (30m) created 29m52s ago, never answered: 75% and 90% at once, breach
        # live at now+8s. End: open and breached.
        created("A", ago(minutes=29, seconds=52), "gold", 1),
        created("B", ago(minutes=29, seconds=52), "gold", 1),
        # C: gold P1 answered at 28m52s = 1732 s, after both near-breaches: met, resolved.
        created("C", ago(minutes=29, seconds=52), "gold", 1),
        responded("C", ago(minutes=1)),
        # D: gold P1 answered after 35m = 2100 s: near, near, breached, resolved; outcome breached.
        created("D", ago(minutes=40), "gold", 1),
        responded("D", ago(minutes=5)),
        # E: gold P2 (1h) answered after 45 s: met, no alert.
        created("E", ago(minutes=10), "gold", 2),
        responded("E", ago(minutes=9, seconds=15)),
        # F: gold P3 (4h); an internal note does not stop the clock. Its creation is sent twice
        # (same event_id): one duplicate. End: open, ok.
        created("F", ago(minutes=5), "gold", 3),
        responded("F", ago(minutes=4), public=False),
        created("F", ago(minutes=5), "gold", 3),
        # G: silver P2 (2h), new. End: open, ok.
        created("G", ago(minutes=1), "silver", 2),
        # H: silver P1 (1h) solved after 10m = 600 s: met, no alert.
        created("H", ago(minutes=20), "silver", 1),
        _event("ticket.status_changed", "H", "H-s", ago(minutes=10), status="solved"),
        # J: silver P3 (8h) upgraded to P1 (1h from creation) 45m30s after creation: its 75%
        # (45m) is in the past -> one near-breach at once; 90% (54m) is now+8m. End: at risk.
        created("J", ago(minutes=46), "silver", 3),
        _event("ticket.priority_changed", "J", "J-p1", ago(seconds=30), priority=1),
    ]


EXPECTED_ALERTS = 14  # A 3, B 3, C 3, D 4, J 1

FIRST_RESPONSE_LABELLED = ("sla_alerts_total", "sla_responses_total", "sla_first_response_")
GAUGES = ("sla_open_tickets", "sla_at_risk_tickets", "sla_breached_open_tickets")


def expected_counters() -> Samples:
    """Every series of the counter/histogram families not listed here must be 0."""
    want: Samples = {}

    def put(name: str, value: float, **labels: str) -> None:
        if name.startswith(FIRST_RESPONSE_LABELLED):  # the series of the first_response metric
            labels["metric"] = "first_response"
        want[(name, _key(labels))] = value

    for kind, n in [
        ("ticket.created", 10),  # 9 tickets + the repeated F creation (counted, then ignored)
        ("ticket.agent_responded", 4),  # C, D, E, F's internal note
        ("ticket.status_changed", 1),
        ("ticket.priority_changed", 1),
    ]:
        put("sla_events_total", n, type=kind)
    put("sla_invalid_events_total", 1, reason="not_json")
    put("sla_duplicate_events_total", 1)
    put("sla_dropped_early_events_total", 0)
    put("sla_alerts_total", 8, kind="sla.near_breach", tier="gold", priority="1")  # A B C D
    put("sla_alerts_total", 3, kind="sla.breached", tier="gold", priority="1")  # A B D
    put("sla_alerts_total", 2, kind="sla.resolved", tier="gold", priority="1")  # C D
    put("sla_alerts_total", 1, kind="sla.near_breach", tier="silver", priority="1")  # J
    put("sla_alert_delay_seconds_count", 12)  # near-breach and breach alerts, not resolved
    put("sla_responses_total", 1, tier="gold", priority="1", outcome="met")  # C
    put("sla_responses_total", 1, tier="gold", priority="1", outcome="breached")  # D
    put("sla_responses_total", 1, tier="gold", priority="2", outcome="met")  # E
    put("sla_responses_total", 1, tier="silver", priority="1", outcome="met")  # H
    for tier, prio, values in [
        ("gold", "1", [1732.0, 2100.0]),
        ("gold", "2", [45.0]),
        ("silver", "1", [600.0]),
    ]:
        put("sla_first_response_seconds_count", len(values), tier=tier, priority=prio)
        put("sla_first_response_seconds_sum", sum(values), tier=tier, priority=prio)
        for le in (*FIRST_RESPONSE_BUCKETS, float("inf")):
            n = sum(1 for v in values if v <= le)
            put("sla_first_response_seconds_bucket", n, tier=tier, priority=prio, le=_le(le))
    return want


def expected_gauges() -> Samples:
    want: Samples = {}
    for name, tier, prio, n in [
        ("sla_open_tickets", "gold", "1", 2),  # A B
        ("sla_open_tickets", "gold", "3", 1),  # F
        ("sla_open_tickets", "silver", "1", 1),  # J
        ("sla_open_tickets", "silver", "2", 1),  # G
        ("sla_at_risk_tickets", "silver", "1", 1),  # J
        ("sla_breached_open_tickets", "gold", "1", 2),  # A B
    ]:
        want[(name, _key({"tier": tier, "priority": prio, "metric": "first_response"}))] = n
    return want


# ---- scraping ------------------------------------------------------------------------------------


def _key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def scrape(worker: WorkerProcess) -> Samples:
    status, body = worker.get("/metrics")
    assert status == 200, body[:500]
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            labels = dict(s.labels)
            if "le" in labels:  # one spelling for bucket bounds ("60.0", "+Inf")
                labels["le"] = _le(float(labels["le"]))
            samples[(s.name, _key(labels))] = s.value
    return samples


def family(samples: Samples, name: str) -> Samples:
    return {k: v for k, v in samples.items() if k[0] == name}


def lag_is_zero(samples: Samples, topics: Topics) -> bool:
    lag = family(samples, "sla_consumer_lag_records")
    partitions = {dict(labels)["partition"] for _, labels in lag}
    return partitions == {str(p) for p in range(topics.partitions)} and not any(lag.values())


def mismatches(samples: Samples, want: Samples, names: set[str]) -> list[str]:
    """Differences between `samples` and `want` over the series named `names` (absent = 0)."""
    out = [
        f"{name}{dict(labels)}: got {samples.get((name, labels))}, want {value}"
        for (name, labels), value in sorted(want.items())
        if samples.get((name, labels)) != value
    ]
    out += [
        f"{name}{dict(labels)}: got {value}, want 0"
        for (name, labels), value in sorted(samples.items())
        if name in names and (name, labels) not in want and value != 0
    ]
    return out


def poll_metrics(
    worker: WorkerProcess, check: Callable[[Samples], list[str]], timeout: float = SCRAPE_DEADLINE
) -> Samples:
    """Scrape until `check` reports no problem; fail with its last report after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(worker)
        problems = check(samples)
        if not problems:
            return samples
        if time.monotonic() > deadline:
            report = "\n  ".join(problems)
            pytest.fail(f"metrics still wrong after {timeout}s:\n  {report}\n{worker.tail(20)}")
        time.sleep(0.25)


COUNTED = {
    "sla_events_total",
    "sla_invalid_events_total",
    "sla_duplicate_events_total",
    "sla_dropped_early_events_total",
    "sla_alerts_total",
    "sla_alert_delay_seconds_count",
    "sla_responses_total",
    "sla_first_response_seconds_count",
    "sla_first_response_seconds_sum",
    "sla_first_response_seconds_bucket",
}


# ---- fixtures ------------------------------------------------------------------------------------


def _start(
    workers: list[WorkerProcess], bootstrap: str, topics: Topics, data: Path
) -> WorkerProcess:
    worker = WorkerProcess(bootstrap, topics, data).start()
    workers.append(worker)
    worker.wait_ready()
    return worker


# ---- the test ------------------------------------------------------------------------------------


def test_scenario_gives_exact_metrics_and_gauges_survive_a_restart(
    kafka_bootstrap: str, topics: Topics, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    worker = _start(workers, kafka_bootstrap, topics, tmp_path / "w")
    now = datetime.now(UTC).replace(microsecond=0)
    asyncio.run(produce(kafka_bootstrap, topics.events, [*scenario(now)]))
    asyncio.run(produce(kafka_bootstrap, topics.events, [b"not json {"], keys=[b"junk"]))

    got = asyncio.run(
        read_all(kafka_bootstrap, topics.alerts, until_count=EXPECTED_ALERTS, timeout=40)
    )
    kinds = Counter((a["ticket_id"], a["type"]) for a in alerts_of(got))
    assert len(got) == EXPECTED_ALERTS, f"alerts so far: {sorted(kinds.items())}"

    counters, gauges = expected_counters(), expected_gauges()

    def settled(samples: Samples) -> list[str]:
        problems = mismatches(samples, counters, COUNTED)
        problems += mismatches(samples, gauges, set(GAUGES))
        if not lag_is_zero(samples, topics):
            problems.append(f"lag {family(samples, 'sla_consumer_lag_records')}")
        return problems

    before = poll_metrics(worker, settled)
    # Nothing more: no further alert, and the counters stay put (they reached their values from
    # below, so an overshoot would show now).
    later = alerts_of(asyncio.run(read_all(kafka_bootstrap, topics.alerts, idle=1.5)))
    assert len(later) == EXPECTED_ALERTS, Counter((a["ticket_id"], a["type"]) for a in later)
    assert mismatches(scrape(worker), counters, COUNTED) == []
    policy = default_policy()
    for tier in TIERS:
        for prio in (1, 2, 3, 4):
            labels = {"tier": tier, "priority": str(prio), "metric": "first_response"}
            key = ("sla_first_response_target_seconds", _key(labels))
            assert before[key] == policy.target(tier, prio).total_seconds(), key

    # Restart on the same state dir: gauges are rebuilt from the table, counters start at 0.
    worker.stop()
    again = _start(workers, kafka_bootstrap, topics, tmp_path / "w")
    after = poll_metrics(again, lambda s: [] if lag_is_zero(s, topics) else ["lag not 0"])
    for name in GAUGES:
        assert family(after, name) == family(before, name), name
    # Every alert was recorded as sent before the stop: none is sent again.
    assert mismatches(after, {}, {"sla_alerts_total", "sla_responses_total"}) == []
    final = asyncio.run(read_all(kafka_bootstrap, topics.alerts, idle=1.5))
    assert len(final) == EXPECTED_ALERTS
