"""The report's numbers from a `Ledger` (pure: no I/O, no clock).

- `Row`: one metric x tier x priority. Each stopped clock counts once (a ticket that stops a
  metric twice, a reopened ticket or a second reply cycle, counts twice in `stops`), under the
  priority it had when it stopped; a clock still running at the end counts under the ticket's
  current tier and priority. `tickets` counts distinct tickets in the row.
- Quantiles are nearest-rank: the p-quantile of n sorted values is the value at rank ceil(p*n).
- Pages per day: near-breach and breach alerts by the local date of their `due_at` (when a live
  worker would have paged) in the report's time zone.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from processor.domain.constants import TIERS
from processor.domain.machine import StopRecord
from processor.report.collect import Ledger

__all__ = [
    "BIN_EDGES",
    "SORT_KEYS",
    "Breach",
    "DayPages",
    "Distribution",
    "Row",
    "Summary",
    "quantile",
    "row_order",
    "select",
    "sort_breaches",
    "summarise",
]

BIN_WIDTH = 0.1
BIN_EDGES: tuple[float, ...] = tuple(round(i * BIN_WIDTH, 1) for i in range(21))
"""Time-to-stop as a share of the target: bins [0, 0.1), ..., [1.9, 2.0), then >= 2.0."""
ALL = "all"
_TIER_ORDER: dict[str, int] = {tier: n for n, tier in enumerate(TIERS)}


@dataclass(frozen=True, slots=True)
class Row:
    metric: str
    tier: str
    priority: int
    """0 in a metric's total row (`tier` is then "all")."""
    tickets: int
    stops: int
    met: int
    breached: int
    running: int
    compliance: float | None
    """met / (met + breached); None without stops."""
    target_seconds: int | None
    p50_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None
    p50_share: float | None
    p90_share: float | None
    max_share: float | None
    pages_near_breach: int
    pages_breached: int


@dataclass(frozen=True, slots=True)
class DayPages:
    day: date
    near_breach: int
    breached: int


@dataclass(frozen=True, slots=True)
class Breach:
    metric: str
    ticket_id: str
    tier: str
    priority: int
    created_at: datetime | None
    stopped_at: datetime | None
    business_seconds: float
    target_seconds: int
    over_seconds: float
    share: float
    reason: str


@dataclass(frozen=True, slots=True)
class Distribution:
    """Stops of one metric and tier per share-of-target bin (`BIN_EDGES`, the last open)."""

    metric: str
    tier: str
    counts: tuple[int, ...]


@dataclass(slots=True)
class Summary:
    policy_version: str
    timezone: str
    rows: list[Row]
    totals: list[Row]
    pages: list[DayPages]
    breaches: list[Breach]
    distributions: list[Distribution]
    stats: dict[str, object] = field(default_factory=dict)


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile of already sorted values (None if empty)."""
    if not ordered:
        return None
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def select(ledger: Ledger, start: datetime | None, end: datetime | None) -> Ledger:
    """The tickets created in [start, end) (both optional); unknown creation never matches."""
    if start is None and end is None:
        return ledger
    created = ledger.created

    def keep(ticket_id: str) -> bool:
        at = created.get(ticket_id)
        return at is not None and (start is None or at >= start) and (end is None or at < end)

    return Ledger(
        ledger.policy_version,
        [s for s in ledger.stops if keep(s.ticket_id)],
        [p for p in ledger.pages if keep(p.ticket_id)],
        [r for r in ledger.running if keep(r.ticket_id)],
        created,
        ledger.stats,
    )


def summarise(ledger: Ledger, timezone: str = "UTC") -> Summary:
    """Rows, totals, pages per day (days of `timezone`), breaches (largest over first) and
    time-to-stop distributions of a (selected) ledger."""
    rows = _rows(_group(ledger, lambda tier, priority: (tier, priority)))
    totals = _rows(_group(ledger, lambda tier, priority: (ALL, 0)))
    return Summary(
        ledger.policy_version,
        timezone,
        rows,
        totals,
        pages_per_day(ledger, ZoneInfo(timezone)),
        sort_breaches(_breaches(ledger), "over"),
        _distributions(ledger.stops),
        _stats(ledger),
    )


_Key = tuple[str, str, int]


@dataclass(slots=True)
class _Cell:
    tickets: set[str] = field(default_factory=set)
    stops: list[StopRecord] = field(default_factory=list)
    running: int = 0
    pages: Counter[str] = field(default_factory=Counter)


def _group(ledger: Ledger, place: Callable[[str, int], tuple[str, int]]) -> dict[_Key, _Cell]:
    cells: dict[_Key, _Cell] = defaultdict(_Cell)
    for stop in ledger.stops:
        cell = cells[(stop.metric, *place(stop.tier, stop.priority))]
        cell.stops.append(stop)
        cell.tickets.add(stop.ticket_id)
    for run in ledger.running:
        cell = cells[(run.metric, *place(run.tier, run.priority))]
        cell.running += 1
        cell.tickets.add(run.ticket_id)
    for page in ledger.pages:
        cells[(page.metric, *place(page.tier, page.priority))].pages[page.type] += 1
    return cells


def row_order(key: _Key) -> tuple[str, int, str, int]:
    """Rows by metric, then tier (basic, silver, gold), then priority."""
    return key[0], _TIER_ORDER.get(key[1], 99), key[1], key[2]


def _rows(cells: dict[_Key, _Cell]) -> list[Row]:
    ordered = sorted(cells, key=row_order)
    return [_row(key, cells[key]) for key in ordered]


def _row(key: _Key, cell: _Cell) -> Row:
    met = sum(1 for s in cell.stops if s.met)
    breached = len(cell.stops) - met
    seconds = sorted(s.business_seconds for s in cell.stops)
    shares = sorted(_share(s) for s in cell.stops if s.target_seconds > 0)
    targets = Counter(s.target_seconds for s in cell.stops)
    return Row(
        *key,
        tickets=len(cell.tickets),
        stops=len(cell.stops),
        met=met,
        breached=breached,
        running=cell.running,
        compliance=met / len(cell.stops) if cell.stops else None,
        target_seconds=targets.most_common(1)[0][0] if targets and key[1] != ALL else None,
        p50_seconds=quantile(seconds, 0.5),
        p90_seconds=quantile(seconds, 0.9),
        max_seconds=seconds[-1] if seconds else None,
        p50_share=quantile(shares, 0.5),
        p90_share=quantile(shares, 0.9),
        max_share=shares[-1] if shares else None,
        pages_near_breach=cell.pages["sla.near_breach"],
        pages_breached=cell.pages["sla.breached"],
    )


def _share(stop: StopRecord) -> float:
    return stop.business_seconds / stop.target_seconds


def pages_per_day(ledger: Ledger, zone: ZoneInfo) -> list[DayPages]:
    """Pages by local day of `due_at` in `zone`, every day from the first to the last."""
    counts: Counter[tuple[date, str]] = Counter(
        (page.due_at.astimezone(zone).date(), page.type) for page in ledger.pages
    )
    if not counts:
        return []
    days = [day for day, _ in counts]
    first, last = min(days), max(days)
    out = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        out.append(DayPages(day, counts[(day, "sla.near_breach")], counts[(day, "sla.breached")]))
    return out


def _breaches(ledger: Ledger) -> Iterable[Breach]:
    created = ledger.created
    for s in ledger.stops:
        if s.met:
            continue
        share = _share(s) if s.target_seconds > 0 else math.inf
        over = s.business_seconds - s.target_seconds
        yield Breach(
            metric=s.metric,
            ticket_id=s.ticket_id,
            tier=s.tier,
            priority=s.priority,
            created_at=created.get(s.ticket_id),
            stopped_at=s.at,
            business_seconds=s.business_seconds,
            target_seconds=s.target_seconds,
            over_seconds=over,
            share=share,
            reason=s.reason,
        )


SORT_KEYS = ("over", "share", "ticket", "created", "stopped", "priority", "tier")
"""`--sort`: over and share put the largest first, the others ascending."""


def sort_breaches(breaches: Iterable[Breach], by: str) -> list[Breach]:
    """Breaches ordered by `by` (one of `SORT_KEYS`); ties by metric, then ticket id."""
    items = sorted(breaches, key=lambda b: (b.metric, b.ticket_id))
    never = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    keys: dict[str, Callable[[Breach], Any]] = {
        "over": (lambda b: -b.over_seconds),
        "share": (lambda b: -b.share),
        "ticket": (lambda b: b.ticket_id),
        "created": (lambda b: b.created_at or never),
        "stopped": (lambda b: b.stopped_at or never),
        "priority": (lambda b: b.priority),
        "tier": (lambda b: _TIER_ORDER.get(b.tier, 99)),
    }
    if by not in keys:
        raise ValueError(f"unknown sort key {by!r} (one of {', '.join(SORT_KEYS)})")
    return sorted(items, key=keys[by])


def _distributions(stops: list[StopRecord]) -> list[Distribution]:
    last = len(BIN_EDGES) - 1
    counts: dict[tuple[str, str], list[int]] = {}
    for s in stops:
        if s.target_seconds <= 0:
            continue
        bins = counts.setdefault((s.metric, s.tier), [0] * len(BIN_EDGES))
        bins[min(int(_share(s) / BIN_WIDTH), last)] += 1
    ordered = sorted(counts, key=lambda k: (k[0], _TIER_ORDER.get(k[1], 99)))
    return [Distribution(metric, tier, tuple(counts[(metric, tier)])) for metric, tier in ordered]


def _stats(ledger: Ledger) -> dict[str, object]:
    st = ledger.stats
    return {
        "lines": st.lines,
        "events": st.events,
        "invalid": st.invalid,
        "duplicates": st.duplicates,
        "after_until": st.after_until,
        "dropped_early": st.dropped_early,
        "outliers": st.outliers,
        "internal_errors": st.internal_errors,
        "alerts": dict(sorted(st.alerts.items())),
    }
