"""The report as terminal tables (rich): summary, pages per day, the breaches with the largest
overrun (`limit` of them), and with --compare the deltas and the outcome changes."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from processor.report.aggregate import Row, Summary
from processor.report.compare import Comparison, RowDelta
from processor.report.tables import Report

__all__ = ["duration", "percent", "write_text"]


def duration(seconds: float | None) -> str:
    """Business seconds as `2d 3h`, `1h 05m`, `4m 10s`, `12s` (- for none)."""
    if seconds is None:
        return "-"
    sign, s = ("-" if seconds < 0 else ""), abs(round(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def write_text(report: Report, console: Console, limit: int) -> None:
    for role, summary in report.summaries:
        console.print(_summary_table(summary, role))
    console.print(_pages_table(report))
    for role, summary in report.summaries:
        console.print(_breaches_table(summary, role, limit))
    if report.comparison is not None:
        console.print(_compare_table(report.comparison))
        console.print(_changes_table(report.comparison, limit))


_ROW_HEADERS = (
    "metric", "tier", "prio", "tickets", "stops", "met", "breached", "running", "compliance",
    "target", "p50", "p90", "max", "p50 %tgt", "p90 %tgt", "max %tgt", "pages nb/b",
)  # fmt: skip


def _row_cells(row: Row) -> list[str]:
    return [
        row.metric, row.tier, f"P{row.priority}" if row.priority else "all",
        str(row.tickets), str(row.stops), str(row.met), str(row.breached), str(row.running),
        percent(row.compliance), duration(row.target_seconds), duration(row.p50_seconds),
        duration(row.p90_seconds), duration(row.max_seconds), percent(row.p50_share),
        percent(row.p90_share), percent(row.max_share),
        f"{row.pages_near_breach}/{row.pages_breached}",
    ]  # fmt: skip


def _summary_table(summary: Summary, role: str) -> Table:
    stats = summary.stats
    table = Table(
        title=f"SLA compliance ({role}: policy {summary.policy_version})",
        caption=f"{stats['events']} events, {stats['invalid']} invalid lines; time to stop in "
        "business time; compliance = met / (met + breached); each stop counts once",
    )
    for n, header in enumerate(_ROW_HEADERS):
        table.add_column(header, justify="left" if n < 3 else "right")
    for row in summary.rows:
        table.add_row(*_row_cells(row))
    if summary.totals:
        table.add_section()
        for row in summary.totals:
            table.add_row(*_row_cells(row), style="bold")
    return table


def _pages_table(report: Report) -> Table:
    table = Table(title=f"Pages per day ({report.base.timezone})")
    table.add_column("day")
    both = report.summaries
    for role, _ in both:
        suffix = f" ({role})" if len(both) > 1 else ""
        for kind in ("near-breach", "breach", "total"):
            table.add_column(kind + suffix, justify="right")
    days: dict[str, list[str]] = {}
    for n, (_, summary) in enumerate(both):
        for d in summary.pages:
            cells = days.setdefault(d.day.isoformat(), ["0"] * (3 * len(both)))
            cells[3 * n : 3 * n + 3] = [
                str(d.near_breach),
                str(d.breached),
                str(d.near_breach + d.breached),
            ]
    for day in sorted(days):
        table.add_row(day, *days[day])
    return table


def _breaches_table(summary: Summary, role: str, limit: int) -> Table:
    shown = summary.breaches[:limit]
    table = Table(
        title=f"Breached ({role}): {len(shown)} of {len(summary.breaches)}",
    )
    for header in ("metric", "ticket", "tier", "prio", "time to stop", "target", "over",
                   "% of target", "reason", "stopped at"):  # fmt: skip
        table.add_column(header, justify="right" if header in ("over", "% of target") else "left")
    for b in shown:
        table.add_row(
            b.metric, b.ticket_id, b.tier, f"P{b.priority}", duration(b.business_seconds),
            duration(b.target_seconds), duration(b.over_seconds), percent(b.share), b.reason,
            "-" if b.stopped_at is None else b.stopped_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        )  # fmt: skip
    return table


def _delta_cells(d: RowDelta) -> list[str]:
    base, other = d.base, d.other
    return [
        d.metric, d.tier, f"P{d.priority}" if d.priority else "all",
        percent(None if base is None else base.compliance),
        percent(None if other is None else other.compliance),
        percent(d.delta("compliance"), signed=True),
        _signed(d.delta("met")), _signed(d.delta("breached")),
        _signed_duration(d.delta("p90_seconds")),
        _signed(d.delta("pages_near_breach")), _signed(d.delta("pages_breached")),
    ]  # fmt: skip


def _signed_duration(value: float | None) -> str:
    text = duration(value)
    return text if value is None or value < 0 else "+" + text


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{int(value):+d}"


_DELTA_HEADERS = (
    "metric", "tier", "prio", "compliance", "compliance'", "delta", "met", "breached", "p90",
    "near-breach pages", "breach pages",
)  # fmt: skip


def _compare_table(comparison: Comparison) -> Table:
    pages = ", ".join(
        f"{p.kind}: {p.base} -> {p.other} (+{p.gained} / -{p.lost})" for p in comparison.pages
    )
    table = Table(
        title=f"Compare: {comparison.base.policy_version} -> {comparison.other.policy_version}",
        caption=f"{comparison.became_breached} stop(s) become breached, "
        f"{comparison.became_met} become met; pages {pages}",
    )
    for n, header in enumerate(_DELTA_HEADERS):
        table.add_column(header, justify="left" if n < 3 else "right")
    for d in comparison.rows:
        table.add_row(*_delta_cells(d))
    if comparison.totals:
        table.add_section()
        for d in comparison.totals:
            table.add_row(*_delta_cells(d), style="bold")
    return table


def _changes_table(comparison: Comparison, limit: int) -> Table:
    changes = comparison.changes
    table = Table(title=f"Outcome changes: {min(len(changes), limit)} of {len(changes)}")
    for header in ("metric", "ticket", "stop", "tier", "prio", "base", "compare",
                   "time to stop", "target", "target'"):  # fmt: skip
        table.add_column(header)
    for c in changes[:limit]:
        table.add_row(
            c.metric, c.ticket_id, str(c.stop), c.tier, f"P{c.priority}",
            "met" if c.base_met else "breached", "met" if c.other_met else "breached",
            duration(c.base_seconds), duration(c.base_target_seconds),
            duration(c.other_target_seconds),
        )  # fmt: skip
    return table
