"""The report for scripts: CSV (one table, `--table`) and JSON (everything). Columns and keys
are stable and documented in docs/report.md."""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from processor.domain.alerts import format_instant
from processor.report.aggregate import BIN_EDGES
from processor.report.tables import (
    BASE,
    OTHER,
    TABLES,
    Report,
    change_record,
    delta_record,
    records,
)

__all__ = ["FORMAT_VERSION", "document", "write_csv", "write_json"]

FORMAT_VERSION = "sla-processor.report/1"


def write_csv(report: Report, table: str, out: IO[str]) -> None:
    """One table as CSV with a header row; a missing value is an empty field."""
    writer = csv.DictWriter(out, fieldnames=list(TABLES[table]), lineterminator="\n")
    writer.writeheader()
    for record in records(report, table):
        writer.writerow({k: "" if v is None else v for k, v in record.items()})


def document(report: Report) -> dict[str, Any]:
    """The JSON document: every table, the distributions and, with --compare, the comparison."""
    doc: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "timezone": report.base.timezone,
        "from": None if report.start is None else format_instant(report.start),
        "to": None if report.end is None else format_instant(report.end),
        "sort": report.sort,
        "policies": {
            role: {"version": s.policy_version, "input": s.stats} for role, s in report.summaries
        },
        "summary": records(report, "summary"),
        "pages_per_day": records(report, "pages"),
        "breaches": records(report, "breaches"),
        "distribution": {
            "bin_edges": list(BIN_EDGES),
            "series": [
                {"policy": role, "metric": d.metric, "tier": d.tier, "counts": list(d.counts)}
                for role, s in report.summaries
                for d in s.distributions
            ],
        },
        "compare": None,
    }
    comparison = report.comparison
    if comparison is not None:
        doc["compare"] = {
            "rows": [delta_record(d) for d in [*comparison.rows, *comparison.totals]],
            "became_breached": comparison.became_breached,
            "became_met": comparison.became_met,
            "changes": [change_record(c) for c in comparison.changes],
            "pages": [
                {"kind": p.kind, BASE: p.base, OTHER: p.other, "gained": p.gained, "lost": p.lost}
                for p in comparison.pages
            ],
        }
    return doc


def write_json(report: Report, out: IO[str]) -> None:
    json.dump(document(report), out, indent=1, ensure_ascii=False)
    out.write("\n")
