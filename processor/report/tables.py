"""The report's tables as flat records with stable column names: what CSV and JSON write
(docs/report.md documents every column). Instants are RFC 3339 UTC, seconds are business
seconds (3 decimals), shares and compliance fractions (4 decimals); a missing value is None."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processor.domain.alerts import format_instant
from processor.report.aggregate import (
    Breach,
    DayPages,
    Row,
    Summary,
    select,
    sort_breaches,
    summarise,
)
from processor.report.collect import Ledger
from processor.report.compare import Change, Comparison, RowDelta, compare

__all__ = [
    "BREACH_COLUMNS",
    "CHANGE_COLUMNS",
    "PAGES_COLUMNS",
    "SUMMARY_COLUMNS",
    "TABLES",
    "Report",
    "breach_record",
    "build",
    "change_record",
    "delta_record",
    "records",
    "row_record",
]

BASE, OTHER = "base", "compare"
ROW_FIELDS = (
    "metric", "tier", "priority", "tickets", "stops", "met", "breached", "running",
    "compliance", "target_seconds", "p50_seconds", "p90_seconds", "max_seconds",
    "p50_share", "p90_share", "max_share", "pages_near_breach", "pages_breached",
)  # fmt: skip
SUMMARY_COLUMNS = ("policy", *ROW_FIELDS)
PAGES_COLUMNS = ("policy", "day", "near_breach", "breached")
BREACH_COLUMNS = (
    "policy", "metric", "ticket_id", "tier", "priority", "created_at", "stopped_at",
    "business_seconds", "target_seconds", "over_seconds", "share", "reason",
)  # fmt: skip
CHANGE_COLUMNS = (
    "metric", "ticket_id", "stop", "tier", "priority", "base_outcome", "compare_outcome",
    "base_seconds", "compare_seconds", "base_target_seconds", "compare_target_seconds",
)  # fmt: skip
DELTA_FIELDS = (
    "tickets", "stops", "met", "breached", "running", "compliance", "p50_seconds",
    "p90_seconds", "p50_share", "p90_share", "pages_near_breach", "pages_breached",
)  # fmt: skip
TABLES = {
    "summary": SUMMARY_COLUMNS,
    "pages": PAGES_COLUMNS,
    "breaches": BREACH_COLUMNS,
    "changes": CHANGE_COLUMNS,
}
"""`--table` of the CSV format: its columns."""

_ROUND = {"compliance": 4, "share": 4, "seconds": 3}


@dataclass(slots=True)
class Report:
    """What a report writes: one summary, or two and their comparison."""

    base: Summary
    comparison: Comparison | None = None
    start: datetime | None = None
    end: datetime | None = None
    sort: str = "over"

    @property
    def summaries(self) -> list[tuple[str, Summary]]:
        out = [(BASE, self.base)]
        if self.comparison is not None:
            out.append((OTHER, self.comparison.other))
        return out


def build(
    ledgers: list[Ledger],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    timezone: str = "UTC",
    sort: str = "over",
) -> Report:
    """The report of one ledger, or of two and their comparison: tickets created in
    [start, end), pages by day of `timezone`, breaches in `sort` order."""
    selected = [select(ledger, start, end) for ledger in ledgers]
    summaries = [summarise(ledger, timezone) for ledger in selected]
    for summary in summaries:
        summary.breaches = sort_breaches(summary.breaches, sort)
    report = Report(summaries[0], start=start, end=end, sort=sort)
    if len(summaries) > 1:
        report.comparison = compare(selected[0], selected[1], summaries[0], summaries[1])
    return report


def _value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        for suffix, digits in _ROUND.items():
            if name.endswith(suffix):
                return round(value, digits)
    return value


def row_record(role: str, row: Row) -> dict[str, Any]:
    record: dict[str, Any] = {"policy": role}
    for name in ROW_FIELDS:
        record[name] = _value(name, getattr(row, name))
    if row.priority == 0:
        record["priority"] = None  # a metric's total over every tier and priority
    return record


def page_record(role: str, day: DayPages) -> dict[str, Any]:
    return {
        "policy": role,
        "day": day.day.isoformat(),
        "near_breach": day.near_breach,
        "breached": day.breached,
    }


def breach_record(role: str, breach: Breach) -> dict[str, Any]:
    record: dict[str, Any] = {"policy": role}
    for name in BREACH_COLUMNS[1:]:
        record[name] = _value(name, getattr(breach, name))
    return record


def change_record(change: Change) -> dict[str, Any]:
    outcome = {True: "met", False: "breached"}
    return {
        "metric": change.metric,
        "ticket_id": change.ticket_id,
        "stop": change.stop,
        "tier": change.tier,
        "priority": change.priority,
        "base_outcome": outcome[change.base_met],
        "compare_outcome": outcome[change.other_met],
        "base_seconds": _value("seconds", change.base_seconds),
        "compare_seconds": _value("seconds", change.other_seconds),
        "base_target_seconds": change.base_target_seconds,
        "compare_target_seconds": change.other_target_seconds,
    }


def delta_record(delta: RowDelta) -> dict[str, Any]:
    return {
        "metric": delta.metric,
        "tier": delta.tier,
        "priority": delta.priority or None,
        BASE: None if delta.base is None else row_record(BASE, delta.base),
        OTHER: None if delta.other is None else row_record(OTHER, delta.other),
        "delta": {name: _value(name, delta.delta(name)) for name in DELTA_FIELDS},
    }


def records(report: Report, table: str) -> list[dict[str, Any]]:
    """The records of one table (`TABLES`) of `report`, both policies' with --compare."""
    if table == "changes":
        changes = [] if report.comparison is None else report.comparison.changes
        return [change_record(c) for c in changes]
    out: list[dict[str, Any]] = []
    for role, summary in report.summaries:
        if table == "summary":
            out += [row_record(role, r) for r in [*summary.rows, *summary.totals]]
        elif table == "pages":
            out += [page_record(role, d) for d in summary.pages]
        elif table == "breaches":
            out += [breach_record(role, b) for b in summary.breaches]
        else:
            raise ValueError(f"unknown table {table!r} (one of {', '.join(TABLES)})")
    return out
