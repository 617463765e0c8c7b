"""Run real `sla-processor worker` processes on the real broker; produce events, read alerts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Topics:
    """Unique names for one test's topics and consumer group."""

    events: str
    alerts: str
    dlq: str
    app_id: str
    partitions: int = 4

    def env(self) -> dict[str, str]:
        return {
            "SLA_EVENTS_TOPIC": self.events,
            "SLA_ALERTS_TOPIC": self.alerts,
            "SLA_DLQ_TOPIC": self.dlq,
            "SLA_APP_ID": self.app_id,
            "SLA_PARTITIONS": str(self.partitions),
        }


@dataclass
class WorkerProcess:
    """One `sla-processor worker` subprocess with its own web port and state dir."""

    bootstrap: str
    topics: Topics
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    argv: list[str] = field(default_factory=lambda: ["-m", "processor", "worker"])
    """What the child runs after the interpreter (tests may run a worker with a test hook)."""

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.topics.env(), **self.extra_env}
        env.update(
            SLA_BOOTSTRAP_SERVERS=self.bootstrap,
            SLA_WEB_PORT=str(self.web_port),
            SLA_DATA_DIR=str(self.data_dir),
            SLA_TIMER_RESOLUTION=env.get("SLA_TIMER_RESOLUTION", "0.5"),
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"worker-{self.web_port}.log"
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, *self.argv],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not ready after {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
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


async def create_topics(bootstrap: str, topics: Topics) -> None:
    from aiokafka.admin import NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        big = {"max.message.bytes": str(4 * 1024 * 1024)}
        await admin.create_topics(
            [
                NewTopic(topics.events, topics.partitions, 1, topic_configs=big),
                NewTopic(topics.alerts, topics.partitions, 1),
                NewTopic(topics.dlq, 1, 1, topic_configs=big),
            ]
        )
    finally:
        await admin.close()


async def produce(
    bootstrap: str,
    topic: str,
    events: list[dict[str, Any] | bytes],
    keys: list[bytes | None] | None = None,
) -> dict[int, int]:
    """Produce events (dicts are JSON-encoded, keyed by ticket_id) and wait for the acks.

    Returns the offset of the last record written to each partition."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        max_request_size=8 * 1024 * 1024,
        linger_ms=5,
    )
    await producer.start()
    acks = []
    try:
        for i, event in enumerate(events):
            if isinstance(event, dict):
                value, key = json.dumps(event).encode(), event["ticket_id"].encode()
            else:
                value, key = event, None
            if keys is not None:
                key = keys[i]
            acks.append(await producer.send(topic, value, key=key))
        await producer.flush()
        last: dict[int, int] = {}
        for meta in await asyncio.gather(*acks):
            last[meta.partition] = max(last.get(meta.partition, -1), meta.offset)
        return last
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The consumer group's committed offsets (next offset to read) on `topic`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def wait_committed(
    bootstrap: str, group: str, topic: str, last: dict[int, int], timeout: float = 240.0
) -> None:
    """Until the group has committed past `last` (partition -> offset) on every partition."""
    deadline = time.monotonic() + timeout
    done: dict[int, int] = {}
    while time.monotonic() < deadline:
        try:
            done = asyncio.run(committed(bootstrap, group, topic))
        except Exception:  # group coordinator moving during a broker restart: ask again
            done = {}
        if all(done.get(p, -1) > off for p, off in last.items()):
            return
        time.sleep(1)
    raise AssertionError(f"group {group} committed {done}, needs past {last} ({timeout}s)")


async def read_all(
    bootstrap: str,
    topic: str,
    *,
    until_count: int | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109 (a plain deadline loop)
    idle: float = 2.0,
) -> list[Any]:
    """Read a topic from the beginning until `until_count` records (or `idle` s of silence)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        parts = await _partitions(bootstrap, topic)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
                last = time.monotonic()
            if until_count is not None and len(records) >= until_count:
                break
            if until_count is None and time.monotonic() - last > idle:
                break
    finally:
        await consumer.stop()
    return records


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(50):
            described = await admin.describe_topics([topic])
            if described and described[0]["error_code"] == 0 and described[0]["partitions"]:
                count = len(described[0]["partitions"])
                return [TopicPartition(topic, p) for p in range(count)]
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    raise AssertionError(f"topic {topic} does not exist")


def alerts_of(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


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
