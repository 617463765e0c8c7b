"""Two policies over the same log, side by side (pure).

- Rows are matched on (metric, tier, priority); a delta is other minus base.
- An outcome change is the k-th stop of a metric on a ticket, met under one policy and breached
  under the other (both replays see the same events, so their stops line up).
- Pages gained and lost are counted per (ticket, metric, kind): a ticket paged twice under the
  base policy and three times under the other gained one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from processor.domain.machine import StopRecord
from processor.report.aggregate import Row, Summary, row_order
from processor.report.collect import PAGE_KINDS, Ledger

__all__ = ["Change", "Comparison", "PageDelta", "RowDelta", "compare"]


@dataclass(frozen=True, slots=True)
class RowDelta:
    metric: str
    tier: str
    priority: int
    base: Row | None
    other: Row | None

    def delta(self, name: str) -> float | None:
        """other - base of a numeric column (None when either side lacks it)."""
        a = None if self.base is None else getattr(self.base, name)
        b = None if self.other is None else getattr(self.other, name)
        return None if a is None or b is None else b - a


@dataclass(frozen=True, slots=True)
class Change:
    metric: str
    ticket_id: str
    stop: int
    """1 for the metric's first stop on the ticket, 2 for its second, ..."""
    tier: str
    priority: int
    base_met: bool
    other_met: bool
    base_seconds: float
    other_seconds: float
    base_target_seconds: int
    other_target_seconds: int


@dataclass(frozen=True, slots=True)
class PageDelta:
    kind: str
    base: int
    other: int
    gained: int
    lost: int


@dataclass(slots=True)
class Comparison:
    base: Summary
    other: Summary
    rows: list[RowDelta]
    totals: list[RowDelta]
    changes: list[Change]
    pages: list[PageDelta]

    @property
    def became_breached(self) -> int:
        return sum(1 for c in self.changes if c.base_met and not c.other_met)

    @property
    def became_met(self) -> int:
        return sum(1 for c in self.changes if c.other_met and not c.base_met)


def compare(
    base: Ledger, other: Ledger, base_summary: Summary, other_summary: Summary
) -> Comparison:
    """`base` and `other` are the (selected) ledgers of one log under two policies."""
    return Comparison(
        base_summary,
        other_summary,
        _match(base_summary.rows, other_summary.rows),
        _match(base_summary.totals, other_summary.totals),
        _changes(base.stops, other.stops),
        _pages(base, other),
    )


def _match(base: list[Row], other: list[Row]) -> list[RowDelta]:
    a = {(r.metric, r.tier, r.priority): r for r in base}
    b = {(r.metric, r.tier, r.priority): r for r in other}
    keys = sorted({*a, *b}, key=row_order)
    return [RowDelta(*k, a.get(k), b.get(k)) for k in keys]


def _by_ticket(stops: list[StopRecord]) -> dict[tuple[str, str], list[StopRecord]]:
    out: dict[tuple[str, str], list[StopRecord]] = defaultdict(list)
    for stop in stops:
        out[(stop.metric, stop.ticket_id)].append(stop)
    return out


def _changes(base: list[StopRecord], other: list[StopRecord]) -> list[Change]:
    theirs = _by_ticket(other)
    changes = []
    for key, ours in _by_ticket(base).items():
        for n, (a, b) in enumerate(zip(ours, theirs.get(key, ()), strict=False), start=1):
            if a.met != b.met:
                changes.append(_change(n, a, b))
    changes.sort(key=lambda c: (c.metric, c.base_met, c.ticket_id, c.stop))
    return changes


def _change(n: int, a: StopRecord, b: StopRecord) -> Change:
    return Change(
        metric=a.metric,
        ticket_id=a.ticket_id,
        stop=n,
        tier=b.tier,
        priority=b.priority,
        base_met=a.met,
        other_met=b.met,
        base_seconds=a.business_seconds,
        other_seconds=b.business_seconds,
        base_target_seconds=a.target_seconds,
        other_target_seconds=b.target_seconds,
    )


def _pages(base: Ledger, other: Ledger) -> list[PageDelta]:
    a = Counter((p.ticket_id, p.metric, p.type) for p in base.pages)
    b = Counter((p.ticket_id, p.metric, p.type) for p in other.pages)
    out = []
    for kind in PAGE_KINDS:
        gained = sum(max(n - a[k], 0) for k, n in b.items() if k[2] == kind)
        lost = sum(max(n - b[k], 0) for k, n in a.items() if k[2] == kind)
        total_a = sum(n for k, n in a.items() if k[2] == kind)
        total_b = sum(n for k, n in b.items() if k[2] == kind)
        out.append(PageDelta(kind, total_a, total_b, gained, lost))
    return out
