"""The HTML report in a real headless browser (Debian's chromium, driven over its DevTools
protocol): it renders without console errors or network requests and every chart has drawn."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from devtools.chromium import inspect_page
from processor.cli import cli
from tests.unit.report_helpers import LOG, policy_with_gold_p1

# Per chart: its plotly SVG layers and the bars / line points it drew, with their geometry.
CHARTS = """[...document.querySelectorAll('.chart')].map(d => ({
  id: d.id,
  svg: d.querySelectorAll('svg.main-svg').length,
  bars: [...d.querySelectorAll('g.trace.bars g.point path')]
        .filter(p => { const b = p.getBBox(); return b.width > 0 && b.height > 0; }).length,
  points: d.querySelectorAll('g.trace.scatter g.points path').length,
  title: (d.querySelector('.gtitle') || {}).textContent || ''
}))"""
READY = "document.body && document.body.dataset.charts"


def test_html_report_renders_every_chart_without_errors(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_bytes(b"\n".join(LOG) + b"\n")
    page = tmp_path / "report.html"
    policy = policy_with_gold_p1(tmp_path, "45m")
    args = ["report", str(log), "--format", "html", "--out", str(page), "--compare", str(policy)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    shot = tmp_path / "report.png"
    seen = inspect_page(page, ready=READY, expression=CHARTS, screenshot=shot)
    assert seen.errors == []
    assert seen.requests == []  # self-contained: nothing fetched at view time
    charts = {c["id"]: c for c in seen.value}
    assert set(charts) == {
        "compliance-first_response",
        "pages",
        "distribution-first_response",
        "compare-compliance",
    }
    for chart in charts.values():
        assert chart["svg"] >= 1 and chart["title"], chart
    # compliance: gold P1 and silver P2 have stops; pages: near-breach + breach bars and the
    # compare policy's lines; distribution: the four stops' bins; compare: both policies' bars
    assert charts["compliance-first_response"]["bars"] == 2
    assert charts["pages"]["bars"] == 2 and charts["pages"]["points"] == 2
    assert charts["distribution-first_response"]["bars"] == 4
    assert charts["compare-compliance"]["bars"] == 4
    assert "become met" in charts["compare-compliance"]["title"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
