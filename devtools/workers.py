"""Real `sla-processor worker` subprocesses on the real broker, and their topics' names."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["REPO", "Topics", "WorkerFailed", "WorkerProcess", "free_port", "wait_caught_up"]

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WorkerFailed(AssertionError):
    """The worker exited or did not become ready (an AssertionError: a test failure)."""


@dataclass
class Topics:
    """Unique names for one test's or benchmark run's topics and consumer group."""

    events: str
    alerts: str
    dlq: str
    app_id: str
    partitions: int = 4

    @classmethod
    def unique(cls, prefix: str, partitions: int = 6) -> Topics:
        tag = f"{prefix}-{uuid.uuid4().hex[:8]}"
        return cls(f"{tag}.events", f"{tag}.alerts", f"{tag}.dlq", f"{tag}-app", partitions)

    def env(self) -> dict[str, str]:
        return {
            "SLA_EVENTS_TOPIC": self.events,
            "SLA_ALERTS_TOPIC": self.alerts,
            "SLA_DLQ_TOPIC": self.dlq,
            "SLA_APP_ID": self.app_id,
            "SLA_PARTITIONS": str(self.partitions),
        }


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$")


@dataclass
class WorkerProcess:
    """One `python -m processor worker` subprocess with its own web port and state dir."""

    bootstrap: str
    topics: Topics
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    http_timeout: float = 5.0
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # perf_counter() at spawn
    argv: list[str] = field(default_factory=lambda: ["-m", "processor", "worker"])
    """What the child runs after the interpreter (tests may run a worker with a test hook)."""
    cwd: Path = REPO
    """Where the child runs: `python -m processor` imports the package found there (a
    benchmark may run the workers of another checkout, for a before/after in one run)."""

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"worker-{self.web_port}.log"

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.topics.env(), **self.extra_env}
        env.update(
            SLA_BOOTSTRAP_SERVERS=self.bootstrap,
            SLA_WEB_PORT=str(self.web_port),
            SLA_DATA_DIR=str(self.data_dir),
            SLA_TIMER_RESOLUTION=env.get("SLA_TIMER_RESOLUTION", "0.5"),
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, *self.argv],
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started_at = time.perf_counter()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=self.http_timeout) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def ready(self) -> bool:
        """/healthz answers 200; raises WorkerFailed if the process has exited."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise WorkerFailed(f"worker exited {self.proc.returncode}:\n{self.tail()}")
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 90.0, poll: float = 0.3) -> float:
        """Block until /healthz answers 200; returns perf_counter() at that moment."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return time.perf_counter()
            time.sleep(poll)
        raise WorkerFailed(f"worker not ready after {timeout}s:\n{self.tail()}")

    def metrics(self) -> dict[str, float]:
        """Samples of /metrics summed over labels, by metric name."""
        out: dict[str, float] = {}
        for line in self.get("/metrics")[1].decode().splitlines():
            m = _SAMPLE.match(line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
        return out

    def rss_bytes(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the worker process has used so far."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """kill -9: no shutdown, no commit, no flush."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def wait_caught_up(worker: WorkerProcess, partitions: int, timeout: float = 240.0) -> None:
    """Until `worker` owns all `partitions` input partitions and has read all but the newest
    tick records of each (its `sla_consumer_lag_records`), three polls in a row."""
    from prometheus_client.parser import text_string_to_metric_families

    deadline = time.monotonic() + timeout
    streak, lags = 0, {}
    while time.monotonic() < deadline:
        status, body = worker.get("/metrics")
        lags = (
            {
                s.labels["partition"]: s.value
                for family in text_string_to_metric_families(body.decode())
                for s in family.samples
                if s.name == "sla_consumer_lag_records"
            }
            if status == 200
            else {}
        )
        caught_up = len(lags) == partitions and all(v <= 2 for v in lags.values())
        streak = streak + 1 if caught_up else 0
        if streak >= 3:
            return
        time.sleep(1)
    raise AssertionError(f"not caught up after {timeout}s: lag {lags}\n{worker.tail()}")
