"""Kafka side of the benchmarks: topics, bulk loading, offsets, and worker subprocesses."""

from __future__ import annotations

import asyncio
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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Topics:
    """Unique topic names and consumer group for one benchmark run."""

    events: str
    alerts: str
    dlq: str
    app_id: str
    partitions: int = 6

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


async def create_topics(bootstrap: str, topics: Topics) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(topics.events, topics.partitions, 1),
                NewTopic(topics.alerts, topics.partitions, 1),
                NewTopic(topics.dlq, 1, 1),
            ]
        )
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: Topics) -> None:
    """Drop the run's topics (and the table changelog) so the broker's disk stays small."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [topics.events, topics.alerts, topics.dlq, f"{topics.app_id}-tickets-changelog"]
        existing = set(await admin.list_topics())
        await admin.delete_topics([n for n in names if n in existing])
    except Exception as exc:  # cleanup is best effort
        print(f"warning: could not delete topics: {exc}", file=sys.stderr)
    finally:
        await admin.close()


async def load(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Produce (key, value) pairs in large batches; returns the count once all are acked."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=20,
        max_batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    count = 0
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


async def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {tp.partition: int(off) for tp, off in ends.items()}


class OffsetWatch:
    """Reads a consumer group's committed offsets (one admin client kept open)."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> OffsetWatch:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def committed(self, group: str, topic: str) -> dict[int, int]:
        offsets = await self.admin.list_consumer_group_offsets(group)
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def caught_up(committed: dict[int, int], ends: dict[int, int]) -> bool:
    return all(committed.get(p, -1) >= end for p, end in ends.items())


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$")


@dataclass
class WorkerProcess:
    """One `python -m processor worker` subprocess with its own web port and state dir."""

    bootstrap: str
    topics: Topics
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"worker-{self.web_port}.log"

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.topics.env(), **self.extra_env}
        env.update(
            SLA_BOOTSTRAP_SERVERS=self.bootstrap,
            SLA_WEB_PORT=str(self.web_port),
            SLA_DATA_DIR=str(self.data_dir),
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "processor", "worker"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started_at = time.perf_counter()
        return self

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.tail()}")
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 300.0, poll: float = 0.05) -> float:
        """Block until /healthz answers 200; returns perf_counter() at that moment."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.ready():
                return time.perf_counter()
            time.sleep(poll)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.tail()}")

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

    def tail(self, lines: int = 40) -> str:
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
