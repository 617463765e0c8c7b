"""Paging benchmark: pages per second through `sla-processor page` into a real Alertmanager, and
the delay from an alert's `due_at` to its page being visible in `GET /api/v2/alerts`.

Alerts are published to the alerts topic at their `due_at` (as a worker raises them), so the
delay covers Kafka, the forwarder and Alertmanager; the worker's own part (due_at to publish) is
its `sla_alert_delay_seconds`, measured by the worker benchmarks. Prints one JSON line.

    .venv/bin/python bench/paging_bench.py [--pages 20000] [--rate 50] [--seconds 30]

Uses $BENCH_BOOTSTRAP when set, otherwise starts a local broker on free ports (needs the Kafka
jars; SLA_CACHE_DIR is honoured). Alertmanager: Debian's prometheus-alertmanager.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import machine
from harness import free_port

from devtools.processes import processor_env
from processor.domain.alerts import alert_id
from processor.localkafka import LocalKafka
from processor.paging.localam import LocalAlertmanager

REPO = Path(__file__).resolve().parents[1]


def alert_json(ticket: str, now: datetime) -> bytes:
    stamp = now.isoformat().replace("+00:00", "Z")
    body = {
        "type": "sla.breached", "alert_id": alert_id(ticket, "first_response", now, 1.0),
        "ticket_id": ticket, "customer_id": "c-1", "tier": "gold", "priority": 1,
        "metric": "first_response", "threshold": 1.0, "due_at": stamp, "deadline": stamp,
        "target_seconds": 1800, "policy_version": "bench", "emitted_at": stamp,
    }  # fmt: skip
    return json.dumps(body).encode()


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 6, 1)])
    finally:
        await admin.close()


async def publish_bulk(bootstrap: str, topic: str, prefix: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for n in range(count):
            ticket = f"{prefix}-{n}"
            await producer.send(topic, alert_json(ticket, now), key=ticket.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def publish_paced(
    bootstrap: str, topic: str, prefix: str, rate: float, seconds: float
) -> dict[str, float]:
    """Alerts at `rate` per second; returns ticket -> due_at (unix time)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    await producer.start()
    due: dict[str, float] = {}
    try:
        start = time.time()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.time()))
            ticket, now = f"{prefix}-{n}", datetime.now(UTC)
            due[ticket] = now.timestamp()
            await producer.send(topic, alert_json(ticket, now), key=ticket.encode())
        await producer.flush()
    finally:
        await producer.stop()
    return due


def visible(am: str, prefix: str) -> set[str]:
    query = urllib.parse.urlencode({"filter": f'ticket=~"{prefix}-.*"'})
    with urllib.request.urlopen(f"{am}/api/v2/alerts?{query}", timeout=300) as response:
        return {a["labels"]["ticket"] for a in json.loads(response.read())}


def wait_ready(url: str, timeout: float = 120) -> None:
    """Until the forwarder's consumer group has its partitions (its /healthz answers 200)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"forwarder not ready at {url}")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def forwarded(metrics_url: str) -> float:
    """Alerts Alertmanager accepted so far (the forwarder's own counter; a GET of tens of
    thousands of alerts costs Alertmanager more than the posts being measured)."""
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sla_paging_forwarded_total{"))  # fmt: skip


def throughput(
    bootstrap: str, topic: str, am: str, metrics_url: str, pages: int
) -> dict[str, float]:
    prefix = f"bulk{uuid.uuid4().hex[:6]}"
    before = forwarded(metrics_url)
    started = time.monotonic()
    asyncio.run(publish_bulk(bootstrap, topic, prefix, pages))
    published = time.monotonic()
    while forwarded(metrics_url) - before < pages:
        time.sleep(0.2)
    done = time.monotonic()
    with urllib.request.urlopen(f"{am}/api/v2/alerts", timeout=300) as response:
        shown = sum(
            1 for a in json.loads(response.read()) if a["labels"]["ticket"].startswith(prefix)
        )
    return {"pages": pages, "publish_s": round(published - started, 2), "shown": shown,
            "pages_per_s": round(pages / (done - started), 1)}  # fmt: skip


def latency(bootstrap: str, topic: str, am: str, rate: float, seconds: float) -> dict[str, float]:
    prefix = f"lat{uuid.uuid4().hex[:6]}"
    seen: dict[str, float] = {}
    loop_task = asyncio.new_event_loop()
    import threading

    result: dict[str, dict[str, float]] = {}
    thread = threading.Thread(
        target=lambda: result.update(
            due=loop_task.run_until_complete(publish_paced(bootstrap, topic, prefix, rate, seconds))
        )
    )
    thread.start()
    deadline = time.monotonic() + seconds + 30
    while time.monotonic() < deadline:
        now = time.time()
        for ticket in visible(am, prefix) - set(seen):
            seen[ticket] = now
        if not thread.is_alive() and len(seen) >= int(rate * seconds):
            break
        time.sleep(0.05)
    thread.join()
    due = result["due"]
    delays = [seen[t] - due[t] for t in due if t in seen]
    return {"rate": rate, "seconds": seconds, "pages": len(due), "seen": len(delays),
            "p50_s": round(quantile(delays, 0.5), 3), "p99_s": round(quantile(delays, 0.99), 3),
            "max_s": round(max(delays), 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        bootstrap = os.environ.get("BENCH_BOOTSTRAP")
        if not bootstrap:
            kafka = LocalKafka(
                port=free_port(), controller_port=free_port(), data_dir=Path(tmp) / "k"
            )
            kafka.start(timeout=120)
            stack.callback(kafka.stop)
            bootstrap = kafka.bootstrap
        am = LocalAlertmanager(Path(tmp) / "am", free_port()).start()
        stack.callback(am.stop)
        topic = f"bench-paging-{uuid.uuid4().hex[:8]}"
        asyncio.run(create_topic(bootstrap, topic))
        env = processor_env()
        env.update(SLA_BOOTSTRAP_SERVERS=bootstrap, SLA_ALERTS_TOPIC=topic,
                   SLA_ALERTMANAGER_URL=am.url, SLA_PAGING_WEB_PORT=str(free_port()),
                   SLA_PAGING_GROUP_PREFIX=topic, SLA_LOG_LEVEL="warning")  # fmt: skip
        log = (Path(tmp) / "forwarder.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "processor", "page"], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        stack.callback(lambda: (proc.terminate(), proc.wait(30)))
        wait_ready(f"http://127.0.0.1:{env['SLA_PAGING_WEB_PORT']}/healthz")
        steady = latency(bootstrap, topic, am.url, args.rate, args.seconds)
        metrics_url = f"http://127.0.0.1:{env['SLA_PAGING_WEB_PORT']}/metrics"
        bulk = throughput(bootstrap, topic, am.url, metrics_url, args.pages)
    print(json.dumps({"bench": "paging", "latency": steady, "throughput": bulk,
                      "machine": machine()}))  # fmt: skip


if __name__ == "__main__":
    main()
