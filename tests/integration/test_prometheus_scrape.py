"""A real Prometheus scrapes a real worker with the shipped config and rules (ops/prometheus/).

The Prometheus config is `prometheus-local.yml` with only the targets, the intervals (1 s) and the
rules path changed, so the job name, the scrape path and the recording rules are the shipped ones.
A second test checks that every metric a Grafana panel depends on (directly, or through the
recording rules it queries) has samples in a live worker's `/metrics`, not just a declaration.

Needs Debian's `prometheus` binary (`ops/scripts/install-system-deps.sh`); fails without it.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from devtools import REPO, Topics, WorkerProcess, free_port, produce

pytestmark = pytest.mark.integration

PROMETHEUS_DIR = REPO / "ops" / "prometheus"
LOCAL_CONFIG = PROMETHEUS_DIR / "prometheus-local.yml"
DASHBOARD = REPO / "ops" / "grafana" / "dashboards" / "sla-overview.json"
JOB = "sla-processor"
INSTALL_HINT = "run `make setup` or `bash ops/scripts/install-system-deps.sh` (as root, on Debian)"
DEADLINE = 45.0
# Short, but long enough for a worker on a busy 2-core machine to answer /metrics (the timeout
# cannot exceed the interval).
SCRAPE_INTERVAL = "3s"

# The same rough PromQL name extraction as tests/unit/test_ops_files.py (strings dropped first).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


# ---- Prometheus ----------------------------------------------------------------------------------


class PrometheusProcess:
    """`prometheus` on a free port, scraping one worker every second, with the shipped rules."""

    def __init__(self, binary: str, workdir: Path, worker_port: int) -> None:
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(local_config(worker_port, self.port)))
        self.log = workdir / "prometheus.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"prometheus exited {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        pytest.fail(f"prometheus not ready after {timeout}s:\n{self.tail()}")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the result vector as `[{"metric": {...}, "value": [ts, "v"]}]`."""
        url = self.url("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", body
        return list(body["data"]["result"])

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets: job, health and last error of each."""
        with urllib.request.urlopen(self.url("/api/v1/targets"), timeout=5) as response:
            active = json.loads(response.read())["data"]["activeTargets"]
        return [
            {k: t.get(k) for k in ("scrapePool", "scrapeUrl", "health", "lastError")}
            for t in active
        ]

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def local_config(worker_port: int, prometheus_port: int) -> dict[str, Any]:
    """prometheus-local.yml aimed at this test's worker and Prometheus, scraping every second."""
    config = yaml.safe_load(LOCAL_CONFIG.read_text())
    config["global"].update(
        scrape_interval=SCRAPE_INTERVAL, scrape_timeout=SCRAPE_INTERVAL, evaluation_interval="1s"
    )
    config["rule_files"] = [str((PROMETHEUS_DIR / f).resolve()) for f in config["rule_files"]]
    targets = {JOB: f"127.0.0.1:{worker_port}", "prometheus": f"127.0.0.1:{prometheus_port}"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(targets) <= set(jobs), f"scrape jobs of {LOCAL_CONFIG.name}: {sorted(jobs)}"
    # The paging forwarder's job is not under test here (tests/integration/test_paging_*.py).
    config["scrape_configs"] = [jobs[name] for name in targets]
    for name, job in jobs.items():
        if name not in targets:
            continue
        assert len(job["static_configs"]) == 1, name
        job["static_configs"][0]["targets"] = [targets[name]]
    return config


def values(result: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], float]:
    """Result vector as {sorted labels without __name__/job/instance: value}."""
    noise = {"__name__", "job", "instance"}
    return {
        tuple(sorted((k, v) for k, v in r["metric"].items() if k not in noise)): float(
            r["value"][1]
        )
        for r in result
    }


def poll(
    prom: PrometheusProcess,
    promql: str,
    accept: Callable[[dict[tuple[tuple[str, str], ...], float]], bool],
    timeout: float = DEADLINE,
) -> dict[tuple[tuple[str, str], ...], float]:
    """Query until `accept(values)`; fail with the last values after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        got = values(prom.query(promql))
        if accept(got):
            return got
        if time.monotonic() > deadline:
            pytest.fail(
                f"`{promql}` still gives {got} after {timeout}s\n"
                f"targets: {prom.targets()}\n{prom.tail(10)}"
            )
        time.sleep(0.5)


# ---- fixtures and scenario -----------------------------------------------------------------------


@pytest.fixture
def worker(kafka_bootstrap: str, topics: Topics, tmp_path: Path) -> Iterator[WorkerProcess]:
    w = WorkerProcess(kafka_bootstrap, topics, tmp_path / "worker")
    try:
        w.start().wait_ready()
        yield w
    finally:
        w.stop()


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """Path of the `prometheus` server; the test fails (never skips) when it is missing."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(f"the prometheus server is not installed: {INSTALL_HINT}", pytrace=False)
    return binary


@pytest.fixture
def prometheus(
    prometheus_binary: str, worker: WorkerProcess, tmp_path: Path
) -> Iterator[PrometheusProcess]:
    prom = PrometheusProcess(prometheus_binary, tmp_path / "prometheus", worker.web_port)
    try:
        prom.wait_ready()
        yield prom
    finally:
        prom.stop()


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _event(kind: str, tid: str, at: datetime, **fields: Any) -> dict[str, Any]:
    eid = f"{tid}-{kind}"
    return {"type": kind, "event_id": eid, "ticket_id": tid, "occurred_at": _iso(at), **fields}


def scenario(now: datetime) -> list[dict[str, Any]]:
    """Gold P1 (30m): two met, one breached (near, near, breach, resolved); one gold P2 open."""

    def create(tid: str, minutes: int, prio: int) -> dict[str, Any]:
        at = now - timedelta(minutes=minutes)
        return _event("ticket.created", tid, at, customer_id="acme", tier="gold", priority=prio)

    def answer(tid: str, minutes: int) -> dict[str, Any]:
        return _event("ticket.agent_responded", tid, now - timedelta(minutes=minutes))

    return [
        create("M1", 10, 1),
        answer("M1", 5),
        create("M2", 20, 1),
        answer("M2", 1),
        create("X1", 40, 1),
        answer("X1", 2),
        create("O1", 5, 2),
    ]


FR = "first_response"  # the `metric` label of the shipped policy's only metric


def _labels(**kw: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(kw.items()))


# ---- tests ---------------------------------------------------------------------------------------


def test_prometheus_scrapes_the_worker_and_evaluates_the_recording_rules(
    prometheus_binary: str,  # first, so that a missing binary fails before anything starts
    kafka_bootstrap: str,
    topics: Topics,
    worker: WorkerProcess,
    prometheus: PrometheusProcess,
) -> None:
    poll(prometheus, f'up{{job="{JOB}"}}', lambda v: v == {(): 1.0})
    # The zero baseline of the responses must be stored before they happen, or `increase()` over
    # the compliance window sees no change.
    poll(prometheus, 'sla_responses_total{tier="gold",priority="1"}', lambda v: len(v) == 2)

    now = datetime.now(UTC).replace(microsecond=0)
    asyncio.run(produce(kafka_bootstrap, topics.events, [*scenario(now)]))
    asyncio.run(produce(kafka_bootstrap, topics.events, [b"not json {"], keys=[b"junk"]))

    expect = {
        "sla_events_total": {
            _labels(type="ticket.created"): 4.0,
            _labels(type="ticket.agent_responded"): 3.0,
            _labels(type="ticket.customer_replied"): 0.0,
            _labels(type="ticket.priority_changed"): 0.0,
            _labels(type="ticket.status_changed"): 0.0,
        },
        "sla_invalid_events_total > 0": {_labels(reason="not_json"): 1.0},
        'sla_responses_total{tier="gold",priority="1"}': {
            _labels(tier="gold", priority="1", outcome="met", metric=FR): 2.0,
            _labels(tier="gold", priority="1", outcome="breached", metric=FR): 1.0,
        },
        "sum by (kind) (sla_alerts_total)": {
            _labels(kind="sla.near_breach"): 2.0,
            _labels(kind="sla.breached"): 1.0,
            _labels(kind="sla.resolved"): 1.0,
        },
        "sla_open_tickets > 0": {_labels(tier="gold", priority="2", metric=FR): 1.0},
        'sla_first_response_seconds_count{tier="gold",priority="1"}': {
            _labels(tier="gold", priority="1", metric=FR): 3.0
        },
        # 300 + 1140 + 2280 business seconds (gold is 24x7).
        'sla_first_response_seconds_sum{tier="gold",priority="1"}': {
            _labels(tier="gold", priority="1", metric=FR): 3720.0
        },
    }
    for promql, want in expect.items():
        poll(prometheus, promql, lambda v, want=want: v == want)

    # Recording rules, evaluated by this Prometheus from the scraped series.
    ratio = poll(
        prometheus,
        "sla:first_response_compliance:ratio_1h",
        lambda v: math.isclose(v.get(_labels(tier="gold", priority="1"), -1), 2 / 3),
    )
    assert set(ratio) == {_labels(tier="gold", priority="1")}, ratio  # no responses elsewhere
    rates = poll(
        prometheus, "sla:events:rate5m", lambda v: v.get(_labels(type="ticket.created"), 0) > 0
    )
    assert set(rates) == {
        _labels(type=t)
        for t in (
            "ticket.created",
            "ticket.agent_responded",
            "ticket.customer_replied",
            "ticket.priority_changed",
            "ticket.status_changed",
        )
    }
    assert rates[_labels(type="ticket.agent_responded")] > 0
    assert rates[_labels(type="ticket.status_changed")] == 0
    poll(prometheus, "sla:consumer_lag_records:sum", lambda v: v == {(): 0.0})


def _names_in(expr: str) -> set[str]:
    bare = _STRING.sub('""', expr)
    return {n for n in _IDENT.findall(bare) if n.startswith(("sla_", "faust_", "sla:"))}


def _panel_exprs(panels: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for panel in panels:
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel["title"], target["expr"]
        yield from _panel_exprs(panel.get("panels", []))  # panels inside collapsed rows


def dashboard_metrics() -> dict[str, set[str]]:
    """Raw metric name -> titles of the panels that need it (through recording rules too)."""
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())
    recorded = {
        r["record"]: r["expr"] for g in rules["groups"] for r in g["rules"] if "record" in r
    }
    needed: dict[str, set[str]] = {}
    for title, expr in _panel_exprs(json.loads(DASHBOARD.read_text())["panels"]):
        for name in _names_in(expr):
            assert ":" not in name or name in recorded, f"{title}: no recording rule {name}"
            raw = _names_in(recorded[name]) if ":" in name else {name}
            for metric in raw:
                needed.setdefault(metric, set()).add(title)
    return needed


def test_every_metric_a_dashboard_panel_needs_has_samples_on_a_live_worker(
    kafka_bootstrap: str, topics: Topics, worker: WorkerProcess
) -> None:
    needed = dashboard_metrics()
    assert {"sla_open_tickets", "sla_responses_total", "faust_messages_received_total"} <= set(
        needed
    )
    # Some traffic, so that Faust's labelled series (table operations, event runtime) exist.
    now = datetime.now(UTC).replace(microsecond=0)
    asyncio.run(produce(kafka_bootstrap, topics.events, [*scenario(now)]))

    deadline = time.monotonic() + DEADLINE
    while True:
        status, body = worker.get("/metrics")
        assert status == 200
        present = {s.name for f in text_string_to_metric_families(body.decode()) for s in f.samples}
        missing = {name: sorted(titles) for name, titles in needed.items() if name not in present}
        if not missing:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"metrics the dashboard queries but the worker does not export: {missing}")
        time.sleep(0.5)
