"""`make run`'s entry point (`sla-processor demo`), run for a bounded time from nothing.

It starts its own broker (on free ports), the worker, Alertmanager with the paging forwarder and
the simulator; alerts must scroll by within 90 seconds, metrics must be served at the printed URL,
pages must reach the printed Alertmanager, and Ctrl-C must leave no process and no port behind.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from devtools import REPO, free_port
from devtools.processes import processor_env

pytestmark = pytest.mark.integration


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _processes_with(marker: str) -> list[int]:
    """PIDs whose environment carries `marker` (our unique app id)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _pages_within(url: str, timeout: float) -> bool:
    """True once Alertmanager lists at least one page (the forwarder got an alert through)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if json.loads(response.read()):
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def _reader(stream: object, lines: queue.Queue[tuple[float, str]]) -> None:
    for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
        lines.put((time.monotonic(), raw.decode(errors="replace").rstrip()))


def test_demo_shows_alerts_within_90s_serves_metrics_and_stops_cleanly(tmp_path: Path) -> None:
    kafka_port, controller_port, web_port = free_port(), free_port(), free_port()
    ingest_port = free_port()
    app_id = f"demo-{uuid.uuid4().hex[:8]}"
    env = processor_env()
    env.update(
        SLA_KAFKA_PORT=str(kafka_port),
        SLA_KAFKA_CONTROLLER_PORT=str(controller_port),
        SLA_KAFKA_DATA_DIR=str(tmp_path / "kafka"),
        SLA_WEB_PORT=str(web_port),
        SLA_INGEST_PORT=str(ingest_port),
        SLA_DATA_DIR=str(tmp_path / "state"),
        SLA_APP_ID=app_id,
        SLA_CACHE_DIR=os.environ.get("SLA_CACHE_DIR", str(REPO / ".cache")),
    )  # no SLA_BOOTSTRAP_SERVERS: the demo starts its own broker
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "demo", "--duration", "150", "--seed", "11"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    seen: list[str] = []
    metrics_url = first_alert_at = pages_url = None
    try:
        while time.monotonic() - started < 120 and first_alert_at is None:
            try:
                at, line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, "\n".join(seen)
                continue
            seen.append(line)
            if "metrics:" in line:
                metrics_url = line.split("metrics:", 1)[1].strip()
            if "Alertmanager:" in line:
                pages_url = line.split("Alertmanager:", 1)[1].strip()
            if "NEAR-BREACH" in line or "BREACHED" in line:
                first_alert_at = at
        assert first_alert_at is not None, "no alert shown:\n" + "\n".join(seen[-40:])
        assert first_alert_at - started <= 90, f"first alert after {first_alert_at - started}s"
        assert metrics_url == f"http://127.0.0.1:{web_port}/metrics"
        with urllib.request.urlopen(metrics_url, timeout=5) as response:
            body = response.read().decode()
        assert "sla_alerts_total" in body and "sla_open_tickets" in body
        assert _port_open(kafka_port) and _port_open(web_port) and _port_open(ingest_port)
        assert any("sample Zendesk webhook" in line and ": 200 " in line for line in seen), seen
        assert pages_url and pages_url.endswith("/#/alerts"), pages_url
        am_base = pages_url.removesuffix("/#/alerts")
        assert _pages_within(f"{am_base}/api/v2/alerts", 60), "no page reached Alertmanager"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(90)
        assert proc.stdout is not None
        proc.stdout.close()
    deadline = time.monotonic() + 10
    ports = (kafka_port, web_port, ingest_port)
    while time.monotonic() < deadline and any(_port_open(p) for p in ports):
        time.sleep(0.5)
    assert not _port_open(kafka_port), "broker port still open"
    assert not _port_open(int(am_base.rsplit(":", 1)[1])), "Alertmanager port still open"
    assert not _port_open(web_port), "worker port still open"
    assert not _port_open(ingest_port), "ingest port still open"
    assert _processes_with(app_id) == [], "processes left behind"
