"""Run a real `sla-processor ingest` process and post signed webhooks to it (tests and bench)."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools import REPO, free_port
from devtools.processes import processor_env, spawn_processor, stop_process
from processor.ingest.signatures import sign_jira, sign_zendesk

ZENDESK_SECRET = "zd-test-signing-secret"
JIRA_SECRET = "jira-test-webhook-secret"
EVENTS_TOKEN = "events-test-token"
FIXTURES = REPO / "tests/fixtures/ingest"


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text())["payload"])


def zendesk_headers(body: bytes, secret: str = ZENDESK_SECRET) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Signature": sign_zendesk(secret, stamp, body),
    }


def jira_headers(body: bytes, secret: str = JIRA_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature": sign_jira(secret, body)}


@dataclass
class IngestProcess:
    bootstrap: str
    events_topic: str
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IngestProcess:
        env = processor_env(
            SLA_BOOTSTRAP_SERVERS=self.bootstrap,
            SLA_EVENTS_TOPIC=self.events_topic,
            SLA_INGEST_PORT=str(self.port),
            SLA_CUSTOMER_DIRECTORY=str(REPO / "examples/customers.yaml"),
            SLA_ZENDESK_SIGNING_SECRET=ZENDESK_SECRET,
            SLA_JIRA_WEBHOOK_SECRET=JIRA_SECRET,
            SLA_EVENTS_TOKEN=EVENTS_TOKEN,
            SLA_LOG_LEVEL="warning",
            **self.extra_env,
        )
        self.proc = spawn_processor(["ingest"], env, self.log_dir / f"ingest-{self.port}.log")
        return self

    def tail(self) -> str:
        path = self.log_dir / f"ingest-{self.port}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"ingest exited {self.proc.returncode}:\n{self.tail()}")
            try:
                status, _, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"ingest not ready after {timeout}s:\n{self.tail()}")

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def zendesk(self, payload: dict[str, Any] | bytes) -> tuple[int, dict[str, str], bytes]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", "/webhooks/zendesk", body, zendesk_headers(body))

    def jira(self, payload: dict[str, Any] | bytes) -> tuple[int, dict[str, str], bytes]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.request("POST", "/webhooks/jira", body, jira_headers(body))

    def events(self, payload: object) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {EVENTS_TOKEN}"}
        return self.request("POST", "/events", body, headers)

    def stop(self) -> None:
        stop_process(self.proc)
