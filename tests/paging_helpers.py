"""Paging tests: a replayed scenario, the real Alertmanager, a forwarder process, a webhook.

The scenario's alerts come from `processor.replay` (the same core as the worker) over an event
log in the recent past; the expected pages are worked out here from those alerts alone: an
incident (ticket, metric) pages with the labels of its last alert unless that alert is
`sla.resolved`.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from worker_harness import free_port

from devtools.processes import kill_process, processor_env, spawn_processor, stop_process
from processor.domain.alerts import Alert
from processor.domain.events import parse_event
from processor.domain.policy import default_policy
from processor.replay import Replayer

Labels = tuple[tuple[str, str], ...]
SEVERITY = {"sla.near_breach": "warning", "sla.breached": "critical"}


def scenario_events(now: datetime, tickets: int = 40, seed: int = 7) -> list[dict[str, Any]]:
    """Tickets created over the last 2 hours; some answered, some upgraded, some open."""
    rng = random.Random(seed)
    events: list[tuple[datetime, dict[str, Any]]] = []
    for n in range(tickets):
        ticket = f"T-{seed}-{n:04d}"
        start = now - timedelta(minutes=rng.uniform(5, 120))
        tier, priority = rng.choice(["gold", "silver"]), rng.choice([1, 2, 3])
        events.append((start, _event("created", ticket, start, customer_id=f"c-{n % 5}",
                                     tier=tier, priority=priority)))  # fmt: skip
        roll = rng.random()
        if roll < 0.4:  # answered some time after creation (maybe after a breach)
            at = start + (now - start) * rng.uniform(0.3, 0.95)
            events.append((at, _event("agent_responded", ticket, at, public=True)))
        elif roll < 0.55 and priority > 1:  # upgraded: new deadline, maybe already past
            at = start + (now - start) * rng.uniform(0.3, 0.9)
            events.append((at, _event("priority_changed", ticket, at, priority=priority - 1)))
    events.sort(key=lambda pair: pair[0])
    return [event for _, event in events]


def _event(kind: str, ticket: str, at: datetime, **fields: Any) -> dict[str, Any]:
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"type": f"ticket.{kind}", "event_id": f"{ticket}-{kind}-{stamp}",
            "ticket_id": ticket, "occurred_at": stamp, **fields}  # fmt: skip


def replay_alerts(events: list[dict[str, Any]], until: datetime) -> list[Alert]:
    replayer = Replayer(default_policy(), until=until)
    alerts: list[Alert] = []
    for event in events:
        alerts.extend(replayer.feed(parse_event(json.dumps(event))))
    alerts.extend(replayer.finish())
    return alerts


def page_labels(alert: Alert) -> Labels:
    labels = {
        "alertname": "SlaTicketDeadline",
        "ticket": alert.ticket_id,
        "metric": alert.metric,
        "tier": alert.tier,
        "severity": SEVERITY[alert.type],
        "priority": str(alert.priority),
    }
    return tuple(sorted(labels.items()))


def expected_pages(alerts: list[Alert]) -> dict[Labels, Alert]:
    """Pages that should be firing: each incident's last alert, unless it is a resolve."""
    last: dict[tuple[str, str], Alert] = {}
    for alert in alerts:
        last[(alert.ticket_id, alert.metric)] = alert
    return {page_labels(a): a for a in last.values() if a.type != "sla.resolved"}


def ended_pages(alerts: list[Alert]) -> set[Labels]:
    """Labels that paged at some point and must not be firing now."""
    ever = {page_labels(a) for a in alerts if a.type != "sla.resolved"}
    return ever - set(expected_pages(alerts))


def am_alerts(url: str) -> list[dict[str, Any]]:
    """Active alerts (GET /api/v2/alerts); ended ones are not listed."""
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as response:
        return list(json.loads(response.read()))


def firing_labels(url: str) -> set[Labels]:
    return {tuple(sorted(a["labels"].items())) for a in am_alerts(url)}


class Shows:
    """Check for `wait_for`: Alertmanager fires exactly `expected`; its repr says the difference."""

    def __init__(self, url: str, expected: set[Labels]) -> None:
        self.url, self.expected = url, expected
        self.missing: set[Labels] = set()
        self.extra: set[Labels] = set()
        self.extra_alerts: list[dict[str, Any]] = []

    def __call__(self) -> bool:
        alerts = {tuple(sorted(a["labels"].items())): a for a in am_alerts(self.url)}
        shown = set(alerts)
        self.missing, self.extra = self.expected - shown, shown - self.expected
        self.extra_alerts = [alerts[labels] for labels in sorted(self.extra)[:3]]
        return not (self.missing or self.extra)

    def __repr__(self) -> str:
        return (
            f"missing {sorted(self.missing)[:5]} ({len(self.missing)}), "
            f"extra ({len(self.extra)}) {self.extra_alerts}"
        )


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:  # the service is restarting
            last = exc
        if last is True or (last and last is not None and not isinstance(last, Exception)):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r} {check!r}")


class Webhook:
    """An HTTP receiver for Alertmanager's webhook notifications; counts firing notifications
    per page (labels) so a page notified twice shows up as a duplicate."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.notifications.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def counts(self, status: str) -> Counter[Labels]:
        with self.lock:
            return Counter(
                tuple(sorted(a["labels"].items()))
                for n in self.notifications
                for a in n["alerts"]
                if a["status"] == status
            )


@dataclass
class ForwarderProcess:
    """`sla-processor page` as a subprocess (its own group prefix, metrics port and log)."""

    bootstrap: str
    alerts_topic: str
    group_prefix: str
    log_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ForwarderProcess:
        env = processor_env(
            SLA_BOOTSTRAP_SERVERS=self.bootstrap,
            SLA_ALERTS_TOPIC=self.alerts_topic,
            SLA_PAGING_GROUP_PREFIX=self.group_prefix,
            SLA_PAGING_WEB_PORT=str(self.web_port),
            SLA_PAGING_RETRY_MAX="2",
            **self.env_extra,
        )
        self.proc = spawn_processor(["page"], env, self.log_dir / "forwarder.log")
        return self

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    def log(self) -> str:
        path = self.log_dir / "forwarder.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> int | None:
        return stop_process(self.proc)
