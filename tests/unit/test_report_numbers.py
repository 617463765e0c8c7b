"""The report's numbers against small hand-computed logs: compliance, quantiles, pages per day
across DST changes, --from/--to, compare deltas, several metrics and several stops per ticket."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from processor.domain.alerts import Alert
from processor.domain.machine import StopRecord
from processor.domain.policy import default_policy, load_policy
from processor.report import Ledger, Running, collect, compare, summarise
from processor.report.aggregate import pages_per_day, quantile, select, sort_breaches
from tests.unit.report_helpers import LOG, line, opened, policy_with_gold_p1


def test_compliance_counts_and_quantiles_of_a_hand_computed_log() -> None:
    (ledger,) = collect(LOG, [default_policy()])
    summary = summarise(ledger)
    rows = {(r.tier, r.priority): r for r in summary.rows}
    gold = rows[("gold", 1)]
    assert (gold.tickets, gold.stops, gold.met, gold.breached, gold.running) == (4, 3, 2, 1, 1)
    assert gold.compliance == pytest.approx(2 / 3)
    assert gold.target_seconds == 1800
    # nearest rank over [600, 1200, 2700]: p50 = rank 2, p90 = rank 3
    assert (gold.p50_seconds, gold.p90_seconds, gold.max_seconds) == (1200, 2700, 2700)
    assert gold.p50_share == pytest.approx(2 / 3)
    assert gold.max_share == pytest.approx(1.5)
    # T2: 0.75 and 0.9 before its response, breach at 10:30; T4: all three before 11:00
    assert (gold.pages_near_breach, gold.pages_breached) == (4, 2)
    silver = rows[("silver", 2)]
    assert (silver.stops, silver.met, silver.compliance, silver.p50_share) == (1, 1, 1.0, 0.5)
    (total,) = summary.totals
    assert (total.tier, total.tickets, total.stops, total.met, total.running) == ("all", 5, 4, 3, 1)
    assert total.compliance == 0.75 and total.target_seconds is None
    (breach,) = summary.breaches
    assert (breach.ticket_id, breach.over_seconds, breach.share) == ("T2", 900, 1.5)
    assert breach.reason == "response"
    assert [(d.day, d.near_breach, d.breached) for d in summary.pages] == [(date(2026, 3, 2), 4, 2)]


def test_quantiles_are_nearest_rank() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.9) == 4.0
    assert quantile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert quantile([float(n) for n in range(1, 12)], 0.9) == 10.0  # ceil(9.9) = 10
    assert quantile([7.0], 0.5) == 7.0
    assert quantile([], 0.5) is None


def _page(ticket: str, kind: str, due_at: str) -> Alert:
    at = datetime.fromisoformat(due_at)
    return Alert(
        type=kind,  # type: ignore[arg-type]
        alert_id=f"{ticket}-{due_at}",
        ticket_id=ticket,
        customer_id="c",
        tier="gold",
        priority=1,
        metric="first_response",
        threshold=1.0 if kind == "sla.breached" else 0.75,
        due_at=at,
        deadline=at,
        target_seconds=1800,
        policy_version="v",
        emitted_at=at,
    )


def test_pages_per_day_follow_the_zone_across_both_dst_changes() -> None:
    # Paris: CET (+1) until 2026-03-29 01:00Z, CEST (+2) until 2026-10-25 01:00Z
    pages = [
        _page("A", "sla.near_breach", "2026-03-28T22:59:59+00:00"),  # 03-28 23:59:59 CET
        _page("B", "sla.breached", "2026-03-28T23:00:00+00:00"),  # 03-29 00:00 CET
        _page("C", "sla.near_breach", "2026-03-29T21:59:59+00:00"),  # 03-29 23:59:59 CEST
        _page("D", "sla.near_breach", "2026-03-29T22:00:00+00:00"),  # 03-30 00:00 CEST
        _page("E", "sla.breached", "2026-10-24T22:00:00+00:00"),  # 10-25 00:00 CEST
        _page("F", "sla.breached", "2026-10-25T22:59:59+00:00"),  # 10-25 23:59:59 CET (25 h day)
        _page("G", "sla.near_breach", "2026-10-25T23:00:00+00:00"),  # 10-26 00:00 CET
    ]
    ledger = Ledger("v", pages=pages)
    paris = {
        d.day: (d.near_breach, d.breached) for d in pages_per_day(ledger, ZoneInfo("Europe/Paris"))
    }
    assert paris[date(2026, 3, 28)] == (1, 0)
    assert paris[date(2026, 3, 29)] == (1, 1)
    assert paris[date(2026, 3, 30)] == (1, 0)
    assert paris[date(2026, 10, 24)] == (0, 0)
    assert paris[date(2026, 10, 25)] == (0, 2)
    assert paris[date(2026, 10, 26)] == (1, 0)
    assert len(paris) == (date(2026, 10, 26) - date(2026, 3, 28)).days + 1  # every day listed
    utc = {d.day: (d.near_breach, d.breached) for d in pages_per_day(ledger, ZoneInfo("UTC"))}
    assert utc[date(2026, 3, 28)] == (1, 1)
    assert utc[date(2026, 3, 29)] == (2, 0)
    assert utc[date(2026, 10, 24)] == (0, 1)
    assert utc[date(2026, 10, 25)] == (1, 1)


def test_summarise_takes_the_timezone_by_name() -> None:
    ledger = Ledger("v", pages=[_page("A", "sla.breached", "2026-03-28T23:30:00+00:00")])
    assert [d.day for d in summarise(ledger, "Europe/Paris").pages] == [date(2026, 3, 29)]
    assert [d.day for d in summarise(ledger).pages] == [date(2026, 3, 28)]


def _stop(metric: str, ticket: str, met: bool, seconds: float, target: int = 3600) -> StopRecord:
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    return StopRecord("gold", 2, seconds, met, "response", metric, ticket, at, target)


def test_every_metric_and_every_stop_counts() -> None:
    # next_reply stops twice on T1 (two reply cycles): two stops, one ticket
    ledger = Ledger(
        "v",
        stops=[
            _stop("first_response", "T1", True, 600),
            _stop("next_reply", "T1", True, 1200),
            _stop("next_reply", "T1", False, 7200),
            _stop("resolution", "T2", True, 1800, target=86400),
        ],
        running=[Running("resolution", "T1", "gold", 2)],
    )
    summary = summarise(ledger)
    rows = {r.metric: r for r in summary.rows}
    assert list(rows) == ["first_response", "next_reply", "resolution"]
    assert (rows["next_reply"].tickets, rows["next_reply"].stops) == (1, 2)
    assert rows["next_reply"].compliance == 0.5
    assert (rows["resolution"].tickets, rows["resolution"].running) == (2, 1)
    assert [(b.metric, b.over_seconds) for b in summary.breaches] == [("next_reply", 3600)]
    assert [d.metric for d in summary.distributions] == [
        "first_response",
        "next_reply",
        "resolution",
    ]
    nr = next(d for d in summary.distributions if d.metric == "next_reply")
    assert nr.counts[3] == 1 and nr.counts[-1] == 1  # share 1/3 in [0.3, 0.4); 2.0 in the last bin


def test_from_to_select_tickets_by_creation_time() -> None:
    early_ticket = [
        opened("E", "09:00", "gold", 1),
        line("agent_responded", "E", "09:10", public=True),
    ]
    log = [*early_ticket, opened("L", "10:00", "gold", 1), *LOG]
    (ledger,) = collect(log, [default_policy()])
    start, end = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)
    early = select(ledger, start, end)
    assert [s.ticket_id for s in early.stops] == ["E"]
    assert early.running == [] and early.pages == []
    late = select(ledger, end, None)
    assert {r.ticket_id for r in late.running} == {"L", "T4"}
    assert {p.ticket_id for p in late.pages} == {"L", "T2", "T4"}
    assert {s.ticket_id for s in late.stops} == {"T1", "T2", "T3", "T5"}
    assert select(ledger, None, None) is ledger


def test_breaches_sort_by_each_key() -> None:
    ledger = Ledger(
        "v",
        stops=[
            _stop("first_response", "B", False, 5400),  # 1800 over, share 1.5
            _stop("first_response", "A", False, 2000, target=1000),  # 1000 over, share 2.0
            _stop("first_response", "C", False, 9000),  # 5400 over, share 2.5
        ],
    )
    breaches = summarise(ledger).breaches
    assert [b.ticket_id for b in breaches] == ["C", "B", "A"]
    assert [b.ticket_id for b in sort_breaches(breaches, "share")] == ["C", "A", "B"]
    assert [b.ticket_id for b in sort_breaches(breaches, "ticket")] == ["A", "B", "C"]
    with pytest.raises(ValueError, match="unknown sort key"):
        sort_breaches(breaches, "size")


def test_compare_deltas_changes_and_pages_gained_and_lost(tmp_path: Path) -> None:
    other = load_policy(policy_with_gold_p1(tmp_path, "45m"))
    base_ledger, other_ledger = collect(LOG, [default_policy(), other])
    base, theirs = summarise(base_ledger), summarise(other_ledger)
    result = compare(base_ledger, other_ledger, base, theirs)
    # T2 answered at 45m: breached under 30m, met under 45m (a stop at the deadline meets it)
    assert [(c.ticket_id, c.base_met, c.other_met, c.stop) for c in result.changes] == [
        ("T2", False, True, 1)
    ]
    assert (result.became_met, result.became_breached) == (1, 0)
    gold = next(d for d in result.rows if (d.tier, d.priority) == ("gold", 1))
    assert (gold.delta("met"), gold.delta("breached"), gold.delta("running")) == (1, -1, 0)
    assert gold.delta("compliance") == pytest.approx(1 / 3)
    assert gold.delta("target_seconds") == 900
    # 45m: T2's 33:45 and 40:30 near-breaches still page, its breach at 45:00 does not;
    # T4 (running) gets all three either way
    pages = {p.kind: (p.base, p.other, p.gained, p.lost) for p in result.pages}
    assert pages == {"sla.near_breach": (4, 4, 0, 0), "sla.breached": (2, 1, 0, 1)}
    silver = next(d for d in result.rows if d.tier == "silver")
    assert silver.delta("met") == 0 and silver.delta("compliance") == 0


def test_the_cores_three_metrics_count_once_per_stop() -> None:
    # gold P2 under all three metrics: first response at 10:20 (met, 1h target); two next-reply
    # cycles (customer 10:30 -> agent 11:00 met; customer 12:00 -> agent 15:00 breached, 2h
    # target); solved at 16:00 stops resolution (1d target, met); nothing left running
    policy = load_policy(Path(__file__).resolve().parents[2] / "examples/policy-all-metrics.yaml")
    log = [
        opened("R", "10:00", "gold", 2),
        line("agent_responded", "R", "10:20", public=True),
        line("customer_replied", "R", "10:30"),
        line("agent_responded", "R", "11:00", public=True),
        line("customer_replied", "R", "12:00"),
        line("agent_responded", "R", "15:00", public=True),
        line("status_changed", "R", "16:00", status="solved"),
    ]
    (ledger,) = collect(log, [policy])
    rows = {r.metric: r for r in summarise(ledger).rows}
    assert {m: (r.tickets, r.stops, r.met, r.breached) for m, r in rows.items()} == {
        "first_response": (1, 1, 1, 0),
        "next_reply": (1, 2, 1, 1),
        "resolution": (1, 1, 1, 0),
    }
    assert all(r.running == 0 for r in rows.values())
    assert rows["next_reply"].p50_seconds == 1800 and rows["next_reply"].max_seconds == 10800
    assert [(b.metric, b.over_seconds) for b in summarise(ledger).breaches] == [
        ("next_reply", 3600)
    ]


def test_collect_restores_the_garbage_collector_thresholds() -> None:
    import gc

    before = gc.get_threshold()
    collect(LOG, [default_policy()])
    assert gc.get_threshold() == before
