"""The report as one self-contained HTML file: plotly.js (bundled by the `plotly` package,
embedded whole, so nothing is fetched when the file is viewed), the charts' aggregated data, and
tables of the summary, the worst breaches and the outcome changes. `document.body.dataset.charts`
becomes "drawn" once every chart has rendered ("failed" if one did not)."""

from __future__ import annotations

import json
from html import escape
from typing import IO, Any

from processor.report.charts import figures
from processor.report.tables import Report, breach_record, change_record, row_record

__all__ = ["render", "write_html"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2rem; } .meta { color: #555; margin-top: 0; }
.chart { min-height: 380px; margin: 1rem 0; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right;
  white-space: nowrap; }
th { background: #f4f4f4; } .scroll { overflow-x: auto; } td.l, th.l { text-align: left; }
"""
_DRAW = """
const figures = JSON.parse(document.getElementById("figures").textContent);
Promise.all(Object.entries(figures).map(([id, f]) =>
  Plotly.newPlot(id, f.data, f.layout, {displaylogo: false, responsive: true})))
  .then(() => { document.body.dataset.charts = "drawn"; },
        (err) => { document.body.dataset.charts = "failed"; console.error(err); });
"""
_LEFT = {"policy", "metric", "tier", "ticket_id", "reason", "created_at", "stopped_at"}


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _table(records: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f'<th class="{"l" if c in _LEFT else ""}">{escape(c)}</th>' for c in columns)
    body = []
    for record in records:
        cells = "".join(
            f'<td class="{"l" if c in _LEFT else ""}">'
            f"{escape('' if record[c] is None else str(record[c]))}</td>"
            for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    rows = "".join(body)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _sections(report: Report, limit: int, charts: dict[str, Any]) -> list[str]:
    out = [f'<div class="chart" id="{escape(chart_id)}"></div>' for chart_id in charts]
    summary_cols = ["policy", "metric", "tier", "priority", "tickets", "stops", "met",
                    "breached", "running", "compliance", "p50_share", "p90_share", "max_share",
                    "pages_near_breach", "pages_breached"]  # fmt: skip
    rows = [row_record(role, r) for role, s in report.summaries for r in [*s.rows, *s.totals]]
    out.append("<h2>Summary</h2>" + _table(rows, summary_cols))
    for role, summary in report.summaries:
        shown = [breach_record(role, b) for b in summary.breaches[:limit]]
        out.append(
            f"<h2>Breached ({escape(role)}): {len(shown)} of {len(summary.breaches)}, "
            f"by {escape(report.sort)}</h2>"
            + _table(shown, ["metric", "ticket_id", "tier", "priority", "business_seconds",
                             "target_seconds", "over_seconds", "share", "reason", "stopped_at"])
        )  # fmt: skip
    if report.comparison is not None:
        changes = report.comparison.changes
        shown_changes = [change_record(c) for c in changes[:limit]]
        out.append(
            f"<h2>Outcome changes: {len(shown_changes)} of {len(changes)}</h2>"
            + _table(shown_changes, list(shown_changes[0]) if shown_changes else ["metric"])
        )
        pages = [
            {"kind": p.kind, "base": p.base, "compare": p.other, "gained": p.gained, "lost": p.lost}
            for p in report.comparison.pages
        ]
        out.append(
            "<h2>Pages gained and lost</h2>"
            + _table(pages, ["kind", "base", "compare", "gained", "lost"])
        )
    return out


def render(report: Report, limit: int = 20, plotly_js: str | None = None) -> str:
    charts = figures(report.summaries, report.comparison)
    data = json.dumps(charts, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    base = report.base
    stats = base.stats
    meta = (
        f"policy {escape(base.policy_version)}"
        + (f" vs {escape(report.comparison.other.policy_version)}" if report.comparison else "")
        + f"; {stats['events']} events, {stats['invalid']} invalid lines; days in "
        f"{escape(base.timezone)}"
    )
    js = (plotly_js if plotly_js is not None else _plotly_js()).replace("</script", "<\\/script")
    body = "\n".join(_sections(report, limit, charts))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>SLA report</title>"
        f"<style>{_STYLE}</style><script>{js}</script></head>\n"
        f'<body><h1>SLA report</h1><p class="meta">{meta}</p>\n{body}\n'
        f'<script type="application/json" id="figures">{data}</script>\n'
        f"<script>{_DRAW}</script></body></html>\n"
    )


def write_html(report: Report, out: IO[str], limit: int = 20) -> None:
    out.write(render(report, limit))
