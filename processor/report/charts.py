"""The HTML report's charts as plotly.js figures (plain data + layout dicts, pure): compliance
by tier and priority, pages per day, time to stop against the target, and the compare view."""

from __future__ import annotations

from typing import Any

from processor.domain.constants import PRIORITIES, TIERS
from processor.report.aggregate import BIN_EDGES, BIN_WIDTH, Summary
from processor.report.compare import Comparison

__all__ = ["figures"]

Figure = dict[str, Any]
_COLORS = {"sla.near_breach": "#f0a202", "sla.breached": "#d1495b"}
_PRIORITY_COLORS = ("#7a0019", "#d1495b", "#edae49", "#66a182")
_TIER_COLORS = {"basic": "#8d99ae", "silver": "#457b9d", "gold": "#e9c46a"}


def _layout(title: str, **more: Any) -> dict[str, Any]:
    return {
        "title": {"text": title},
        "height": 380,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "legend": {"orientation": "h", "y": -0.2},
        **more,
    }


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def compliance(summary: Summary, metric: str) -> Figure:
    rows = {(r.tier, r.priority): r for r in summary.rows if r.metric == metric}
    data = []
    for n, priority in enumerate(PRIORITIES):
        values = [rows.get((t, priority)) for t in TIERS]
        data.append(
            {
                "type": "bar",
                "name": f"P{priority}",
                "x": list(TIERS),
                "y": [None if r is None else _pct(r.compliance) for r in values],
                "text": [
                    "" if r is None or r.compliance is None else f"{r.compliance:.0%}"
                    for r in values
                ],
                "textposition": "outside",
                "marker": {"color": _PRIORITY_COLORS[n % len(_PRIORITY_COLORS)]},
                "hovertemplate": "%{x} P" + str(priority) + ": %{y:.1f}%<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            f"{metric}: compliance by tier and priority",
            barmode="group",
            yaxis={"title": {"text": "met / (met + breached), %"}, "range": [0, 110]},
        ),
    }


def pages(summaries: list[tuple[str, Summary]], timezone: str) -> Figure:
    data = []
    for role, summary in summaries:
        days = [d.day.isoformat() for d in summary.pages]
        for kind, label in (("sla.near_breach", "near-breach"), ("sla.breached", "breach")):
            counts = [
                d.near_breach if kind == "sla.near_breach" else d.breached for d in summary.pages
            ]
            trace: dict[str, Any] = {"name": f"{label} ({role})", "x": days, "y": counts}
            if role == "base":
                trace.update(type="bar", marker={"color": _COLORS[kind]}, offsetgroup=role)
            else:
                trace.update(
                    type="scatter",
                    mode="lines+markers",
                    line={"color": _COLORS[kind], "dash": "dot"},
                )
            data.append(trace)
    return {
        "data": data,
        "layout": _layout(
            f"Pages per day ({timezone})",
            barmode="stack",
            xaxis={
                "type": "date",
                "tickformat": "%Y-%m-%d",
                "dtick": 86_400_000,  # one tick per day (plotly dates are in ms)
                "title": {"text": "day of due_at"},
            },
            yaxis={"title": {"text": "pages"}},
        ),
    }


def distribution(summary: Summary, metric: str) -> Figure:
    centers = [round((edge + BIN_WIDTH / 2) * 100, 1) for edge in BIN_EDGES]
    data = [
        {
            "type": "bar",
            "name": d.tier,
            "x": centers,
            "y": list(d.counts),
            "width": BIN_WIDTH * 100 * 0.9 / 3,
            "marker": {"color": _TIER_COLORS.get(d.tier, "#888")},
            "hovertemplate": d.tier + " %{x}% of target: %{y} stops<extra></extra>",
        }
        for d in summary.distributions
        if d.metric == metric
    ]
    return {
        "data": data,
        "layout": _layout(
            f"{metric}: time to stop as a share of the target",
            barmode="group",
            xaxis={"title": {"text": "% of target (last bin: 200% and more)"}, "range": [0, 212]},
            yaxis={"title": {"text": "stops"}},
            shapes=[
                {
                    "type": "line",
                    "x0": 100,
                    "x1": 100,
                    "yref": "paper",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#d1495b", "width": 2, "dash": "dash"},
                }
            ],
            annotations=[
                {
                    "x": 100,
                    "y": 1,
                    "yref": "paper",
                    "text": "target",
                    "showarrow": False,
                    "xanchor": "left",
                    "font": {"color": "#d1495b"},
                }
            ],
        ),
    }


def compare_compliance(comparison: Comparison) -> Figure:
    rows = comparison.rows
    several = len({d.metric for d in rows}) > 1
    labels = [(f"{d.metric} " if several else "") + f"{d.tier} P{d.priority}" for d in rows]
    data = []
    for role, color in (("base", "#457b9d"), ("compare", "#e76f51")):
        side = [d.base if role == "base" else d.other for d in rows]
        version = (comparison.base if role == "base" else comparison.other).policy_version
        data.append(
            {
                "type": "bar",
                "name": f"{role}: {version}",
                "x": labels,
                "y": [None if r is None else _pct(r.compliance) for r in side],
                "marker": {"color": color},
            }
        )
    return {
        "data": data,
        "layout": _layout(
            f"Compare: compliance, {comparison.became_breached} stop(s) become breached, "
            f"{comparison.became_met} become met",
            barmode="group",
            yaxis={"title": {"text": "compliance, %"}, "range": [0, 110]},
        ),
    }


def figures(
    summaries: list[tuple[str, Summary]], comparison: Comparison | None
) -> dict[str, Figure]:
    """Every chart of the report, by element id."""
    base = summaries[0][1]
    metrics = sorted({r.metric for r in base.rows})
    out: dict[str, Figure] = {}
    for metric in metrics:
        out[f"compliance-{metric}"] = compliance(base, metric)
    out["pages"] = pages(summaries, base.timezone)
    for metric in metrics:
        out[f"distribution-{metric}"] = distribution(base, metric)
    if comparison is not None:
        out["compare-compliance"] = compare_compliance(comparison)
    return out
