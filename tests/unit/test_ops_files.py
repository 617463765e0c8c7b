"""The Prometheus and Grafana files under ops/ are valid, tested and consistent with the worker.

promtool checks both Prometheus configs and the rules, and runs the rule unit tests. Every metric
the rules and the dashboard query must be one the worker exports: the names are read from the
worker's own registry (`processor.worker.metrics`) and from Faust's Prometheus sensors, so a
renamed metric fails here instead of leaving an empty panel or a silent alert.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from processor.paging.metrics import PagingMetrics
from processor.worker.metrics import Metrics, TicketCensus

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "ops" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
RULES_TEST = PROMETHEUS_DIR / "rules_test.yml"
GRAFANA_DIR = REPO / "ops" / "grafana"
DASHBOARD = GRAFANA_DIR / "dashboards" / "sla-overview.json"
OPS_README = REPO / "ops" / "README.md"
INSTALL_HINT = "run `make setup` or `bash ops/scripts/install-system-deps.sh` (as root, on Debian)"

# The worker's Faust sensors are registered with this name prefix (faust.sensors.prometheus).
FAUST_PREFIX = "faust"
# Promised for processor/worker but not exported yet; drop a name here once the worker has it.
SEVERITIES = {"critical", "warning", "info"}

_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_GRAFANA_VARS = re.compile(r"\$\{?__(rate_interval|interval|range)\}?")


# ---- helpers -------------------------------------------------------------------------------------


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(f"promtool is not installed: {INSTALL_HINT}", pytrace=False)
    return path


def _run_promtool(*args: str) -> None:
    cmd = [_promtool(), *args]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (
        f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )


def _exposed_names(registry: CollectorRegistry) -> set[str]:
    """Every series name a scrape of `registry` can show (histogram suffixes included)."""
    names: set[str] = set()
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            names.update(name + suffix for suffix in _SUFFIXES.get(kind, ()))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _known_metric_names() -> set[str]:
    from faust.sensors.prometheus import FaustMetrics

    worker = CollectorRegistry()
    Metrics(worker, TicketCensus())
    PagingMetrics(worker)  # `sla-processor page` (the sla-paging job)
    faust = CollectorRegistry()
    FaustMetrics.create(faust, FAUST_PREFIX)
    return _exposed_names(worker) | _exposed_names(faust)


def _names_in(expr: str) -> set[str]:
    """Metric and recording-rule names in a PromQL expression (roughly: strings dropped)."""
    bare = _STRING.sub('""', expr)
    return {n for n in _IDENT.findall(bare) if n.startswith(("sla_", "faust_", "sla:"))}


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _recorded() -> dict[str, str]:
    return {rule["record"]: rule["expr"] for rule in _rules() if "record" in rule}


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # panels inside collapsed rows


def _dashboard_exprs() -> list[str]:
    return [
        target["expr"]
        for panel in _panels(_dashboard()["panels"])
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def _exprs(source: str) -> list[str]:
    return _dashboard_exprs() if source == "dashboard" else [r["expr"] for r in _rules()]


# ---- promtool ------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-local.yml"])
def test_prometheus_config_is_valid(config: str) -> None:
    _run_promtool("check", "config", str(PROMETHEUS_DIR / config))


def test_alertmanager_config_is_valid() -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail(f"amtool (prometheus-alertmanager) is not installed: {INSTALL_HINT}")
    config = REPO / "ops" / "alertmanager" / "alertmanager.yml"
    proc = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rules_are_valid() -> None:
    _run_promtool("check", "rules", str(RULES))


def test_rule_unit_tests_pass() -> None:
    _run_promtool("test", "rules", str(RULES_TEST))


def test_dashboard_expressions_are_valid_promql(tmp_path: Path) -> None:
    rules = [
        {"record": f"dashboard_expr_{i}", "expr": _GRAFANA_VARS.sub("5m", expr)}
        for i, expr in enumerate(_dashboard_exprs())
    ]
    path = tmp_path / "dashboard_exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    _run_promtool("check", "rules", str(path))


# ---- metric names --------------------------------------------------------------------------------


def test_known_metric_names_come_from_the_worker() -> None:
    known = _known_metric_names()
    assert {"sla_events_total", "sla_first_response_seconds_bucket", "sla_open_tickets"} <= known
    assert "faust_messages_received_total" in known


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_queried_metrics_are_exported_by_the_worker(source: str) -> None:
    used = {n for expr in _exprs(source) for n in _names_in(expr) if ":" not in n}
    assert used, f"no sla_/faust_ metric found in the {source}"
    unknown = used - _known_metric_names()
    assert not unknown, f"the {source} query metrics the worker does not export: {sorted(unknown)}"


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_queried_recording_rules_exist(source: str) -> None:
    used = {n for expr in _exprs(source) for n in _names_in(expr) if ":" in n}
    missing = used - set(_recorded())
    assert not missing, f"the {source} query recording rules that rules.yml lacks: {missing}"


# ---- rules ---------------------------------------------------------------------------------------


def test_recording_rule_names_are_level_metric_operation() -> None:
    for name in _recorded():
        assert re.fullmatch(r"sla:[a-z0-9_]+:[a-z0-9_]+", name), name


def test_compliance_windows_share_one_expression() -> None:
    recorded = _recorded()
    base = recorded["sla:first_response_compliance:ratio_1h"]
    for window in ("24h", "7d"):
        expected = base.replace("[1h]", f"[{window}]")
        assert recorded[f"sla:first_response_compliance:ratio_{window}"] == expected, window


@pytest.mark.parametrize("alert", [a["alert"] for a in _alerts()])
def test_alert_has_severity_and_runbook(alert: str) -> None:
    rule = next(a for a in _alerts() if a["alert"] == alert)
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert {"summary", "description", "runbook", "runbook_url"} <= set(annotations)
    assert annotations["runbook_url"] == f"ops/README.md#runbook-{alert.lower()}"
    assert f"### Runbook: {alert}\n" in OPS_README.read_text(), "no runbook section in ops/README"


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    cases: dict[str, list[bool]] = {}
    for test in yaml.safe_load(RULES_TEST.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(bool(case.get("exp_alerts")))
    for alert in (a["alert"] for a in _alerts()):
        assert True in cases.get(alert, []), f"{alert}: no unit test where it fires"
        assert False in cases.get(alert, []), f"{alert}: no unit test where it stays quiet"


def test_compliance_ratio_is_unit_tested_with_exact_values() -> None:
    checked = {
        case["expr"]
        for test in yaml.safe_load(RULES_TEST.read_text())["tests"]
        for case in test.get("promql_expr_test", [])
        if case.get("exp_samples")
    }
    assert "sla:first_response_compliance:ratio_1h" in checked


# ---- Grafana -------------------------------------------------------------------------------------


def test_dashboard_panels_have_titles_and_queries() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "sla-overview"
    panels = [p for p in _panels(dashboard["panels"]) if p.get("type") != "row"]
    assert panels
    assert len({p["id"] for p in panels}) == len(panels), "panel ids must be unique"
    for panel in panels:
        assert panel.get("title"), f"panel {panel.get('id')} has no title"
        targets = panel.get("targets", [])
        assert targets and all(t.get("expr") for t in targets), f"{panel['title']}: no query"
        for source in [panel, *targets]:
            assert source["datasource"] == {"type": "prometheus", "uid": "prometheus"}


def test_datasource_is_provisioned_with_the_dashboards_uid() -> None:
    files = sorted((GRAFANA_DIR / "provisioning" / "datasources").glob("*.yml"))
    sources = [s for f in files for s in yaml.safe_load(f.read_text())["datasources"]]
    assert [(s["uid"], s["type"], s["url"]) for s in sources] == [
        ("prometheus", "prometheus", "http://prometheus:9090")
    ]


def test_dashboard_provider_loads_files() -> None:
    files = sorted((GRAFANA_DIR / "provisioning" / "dashboards").glob("*.yml"))
    providers = [p for f in files for p in yaml.safe_load(f.read_text())["providers"]]
    assert [(p["type"], p["options"]["path"]) for p in providers] == [
        ("file", "/var/lib/grafana/dashboards")
    ]
