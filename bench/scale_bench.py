"""Timers at scale and recovery: one worker holding N open tickets (default 1,000,000).

Setup: N open tickets (gold P4, 24 h target, created an hour ago: nothing due for 17 h) are
written straight into the ticket table's changelog topic, as the rows the worker itself writes
(`encode_row` of the state `SlaMachine.apply` gives for the `ticket.created` event), on the
partition their key hashes to. Loading them through the worker would take far longer than the
benchmark; the first start of the worker then recovers all N from the changelog ("cold
recovery"). Then, on that worker:

1. memory: resident set of the worker minus that of an empty worker, per open ticket;
2. mass tick (`--mass` tickets, several rounds): `ticket.created` events whose 75% threshold
   falls due at one instant D a few seconds ahead; reported: last alert's emitted_at minus D
   (how long the tick that raises them all takes, tick period and tick_lag included) and last
   minus first emitted_at (the tick's own processing time);
3. steady load: `--rate` events/s for `--seconds` (new tickets whose 75% threshold falls due
   during the run, internal notes, public responses); alert delay = emitted_at - due_at of the
   threshold alerts due during the run, p50/p99;
4. recovery (several rounds): a probe ticket due 1 s after the kill; kill -9; restart on the same
   data dir; time until /healthz is ready and until the probe's alert is out.

    .venv/bin/python bench/scale_bench.py [--tickets N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from common import bootstrap, emit, machine, median

from devtools import Topics, WorkerProcess, create_topics, delete_topics, load
from devtools.changelog import created, fill_changelog


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AlertReader:
    """Collects the alerts published from now on (background task)."""

    def __init__(self, server: str, topics: Topics) -> None:
        self.server, self.topics = server, topics
        self.alerts: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.server, enable_auto_commit=False)
        await self.consumer.start()
        tps = [TopicPartition(self.topics.alerts, p) for p in range(self.topics.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:
            await self.consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100)
            for records in batch.values():
                self.alerts.extend(json.loads(r.value) for r in records)

    async def wait_for(self, pred: Any, count: int, timeout: float) -> list[dict[str, Any]]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [a for a in self.alerts if pred(a)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        return [a for a in self.alerts if pred(a)]

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def _until_read(worker: WorkerProcess, total: float) -> None:
    """Wait until the worker's `sla_events_total` reaches `total`."""
    while True:
        if (await asyncio.to_thread(worker.metrics)).get("sla_events_total", 0) >= total:
            return
        await asyncio.sleep(0.5)  # a scrape costs the worker ~10 ms


async def mass_tick(
    server: str, topics: Topics, worker: WorkerProcess, size: int, tag: str, intake: float
) -> dict[str, float]:
    """`size` tickets whose 75% threshold (gold P1: 22.5 min) is due at one instant D.

    D is set far enough ahead for the worker to read the `size` events first (checked:
    `read_before_due_s` must be positive, else the run measured event intake, not the tick).
    """
    reader = AlertReader(server, topics)
    await reader.start()
    try:
        before = (await asyncio.to_thread(worker.metrics)).get("sla_events_total", 0)
        lead = 10.0 + 1.5 * size / intake  # `intake`: events/s the worker read last round
        start = time.time()
        due = datetime.now(UTC) + timedelta(seconds=lead)
        at = due - timedelta(minutes=22.5)
        items = [(f"{tag}-{i}".encode(), created(f"{tag}-{i}", at, "gold", 1)) for i in range(size)]
        await load(server, topics.events, items)
        await _until_read(worker, before + size)
        read = time.time()
        mine = tag + "-"
        got = await reader.wait_for(
            lambda a: a["ticket_id"].startswith(mine), size, timeout=lead + 120
        )
    finally:
        await reader.stop()
    emitted = sorted(ts(a["emitted_at"]) for a in got)
    return {
        "alerts": len(got),
        "read_before_due_s": round(due.timestamp() - read, 2),
        "intake_events_per_s": round(size / (read - start)),
        "last_minus_due_s": round(emitted[-1] - due.timestamp(), 3),
        "first_minus_due_s": round(emitted[0] - due.timestamp(), 3),
        "spread_s": round(emitted[-1] - emitted[0], 3),
    }


async def steady(
    server: str, topics: Topics, worker: WorkerProcess, rate: int, seconds: float
) -> dict[str, Any]:
    """`rate` events/s: 40% new tickets due 8-12 s later, 30% notes, 30% public responses."""
    reader = AlertReader(server, topics)
    await reader.start()
    producer = AIOKafkaProducer(bootstrap_servers=server, acks=1, linger_ms=5)
    await producer.start()
    started = datetime.now(UTC)
    cpu0 = worker.cpu_seconds()
    opened: list[str] = []
    sent = 0
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            target = int((time.perf_counter() - t0) * rate)
            now = datetime.now(UTC)
            batch = []
            while sent < target:
                sent += 1
                kind = sent % 10
                if kind < 4 or len(opened) < 100:
                    tid = f"L-{sent}"
                    due = now + timedelta(seconds=8 + (sent % 400) / 100)
                    batch.append((tid, created(tid, due - timedelta(minutes=22.5), "gold", 1)))
                    opened.append(tid)
                else:
                    tid = opened[(sent * 7919) % len(opened)]
                    public = kind >= 7
                    body = {
                        "type": "ticket.agent_responded",
                        "event_id": f"{tid}-r{sent}",
                        "ticket_id": tid,
                        "occurred_at": iso(now),
                        "public": public,
                    }
                    batch.append((tid, json.dumps(body, separators=(",", ":")).encode()))
            for tid, value in batch:
                await producer.send(topics.events, value, key=tid.encode())
            await asyncio.sleep(0.01)
        await producer.flush()
        ended = datetime.now(UTC)
        busy = (worker.cpu_seconds() - cpu0) / (ended - started).total_seconds()
        await asyncio.sleep(15)  # the alerts due at the end of the run
    finally:
        await producer.stop()
        await reader.stop()
    delays = [
        ts(a["emitted_at"]) - ts(a["due_at"])
        for a in reader.alerts
        if a["type"] != "sla.resolved"
        and a["ticket_id"].startswith("L-")
        and started.timestamp() <= ts(a["due_at"]) <= ended.timestamp()
    ]
    delays.sort()
    return {
        "rate": rate,
        "seconds": seconds,
        "events": sent,
        "worker_cpu_share": round(busy, 2),
        "alerts_measured": len(delays),
        "delay_p50_s": round(statistics.median(delays), 3) if delays else None,
        "delay_p99_s": round(delays[int(len(delays) * 0.99) - 1], 3) if delays else None,
        "delay_max_s": round(delays[-1], 3) if delays else None,
    }


async def caught_up(worker: WorkerProcess, timeout: float = 900) -> float:  # noqa: ASYNC109
    """Wait until the worker's consumer lag is (nearly) zero; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        sample = await asyncio.to_thread(worker.metrics)
        if sample.get("sla_consumer_lag_records", 1e9) < 50:
            break
        await asyncio.sleep(1.0)
    return round(time.monotonic() - started, 1)


async def recovery(server: str, topics: Topics, worker: WorkerProcess, tag: str) -> dict[str, Any]:
    """kill -9, restart on the same data dir: time to ready and to the probe's alert.

    Starts once the worker has no backlog, so the probe measures recovery, not a backlog.
    """
    drained = await caught_up(worker)
    reader = AlertReader(server, topics)
    await reader.start()
    try:
        kill_at = datetime.now(UTC) + timedelta(seconds=4)
        due = kill_at + timedelta(seconds=1)
        await load(
            server,
            topics.events,
            [(tag.encode(), created(tag, due - timedelta(minutes=22.5), "gold", 1))],
        )
        await asyncio.sleep(max((kill_at - datetime.now(UTC)).total_seconds(), 0))
        worker.kill()
        killed = time.time()
        restart = time.perf_counter()
        worker.start()
        ready = await asyncio.to_thread(worker.wait_ready, 300, 0.05)
        got = await reader.wait_for(lambda a: a["ticket_id"] == tag, 1, timeout=300)
    finally:
        await reader.stop()
    indexed = json.loads(worker.get("/healthz")[1])["indexed"]
    alert_s = ts(got[0]["emitted_at"]) - killed if got else None
    return {
        "backlog_drained_s": drained,
        "indexed": indexed,
        "ready_s": round(ready - restart, 2),
        "probe_alert_after_kill_s": round(alert_s, 2) if alert_s is not None else None,
    }


def rss_empty(server: str, work: Path) -> int:
    topics = Topics.unique("empty")
    asyncio.run(create_topics(server, topics))
    worker = WorkerProcess(server, topics, work / "empty", http_timeout=10).start()
    try:
        worker.wait_ready(timeout=300, poll=0.05)
        time.sleep(3)
        return worker.rss_bytes()
    finally:
        worker.stop()
        asyncio.run(delete_topics(server, topics))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--mass", type=int, default=10_000, help="tickets due at one instant")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets, short phases")
    args = parser.parse_args()
    if args.quick:
        args.tickets, args.mass, args.seconds, args.runs = 20_000, 2_000, 15, 1
    server = bootstrap()
    emit({"bench": "scale", "machine": machine()})
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        empty = rss_empty(server, work)
        topics = Topics.unique("scale", args.partitions)
        asyncio.run(create_topics(server, topics))
        worker = WorkerProcess(server, topics, work / "w", http_timeout=10)
        try:
            t = time.perf_counter()
            at = datetime.now(UTC) - timedelta(hours=1)
            asyncio.run(fill_changelog(server, topics, args.tickets, at))
            fill_s = time.perf_counter() - t
            worker.start()
            ready = worker.wait_ready(timeout=900, poll=0.05)
            cold_s = ready - worker.started_at
            indexed = json.loads(worker.get("/healthz")[1])["indexed"]
            time.sleep(5)
            rss = worker.rss_bytes()
            emit(
                {
                    "bench": "scale",
                    "phase": "memory",
                    "tickets": args.tickets,
                    "indexed": indexed,
                    "changelog_fill_s": round(fill_s, 1),
                    "cold_recovery_ready_s": round(cold_s, 1),
                    "rss_mb": round(rss / 2**20, 1),
                    "rss_empty_mb": round(empty / 2**20, 1),
                    "bytes_per_open_ticket": round((rss - empty) / max(indexed, 1)),
                }
            )
            ticks = []
            intake = 200.0
            for run in range(args.runs):
                result = asyncio.run(
                    mass_tick(server, topics, worker, args.mass, f"M{run}", intake)
                )
                intake = result["intake_events_per_s"]
                if result["read_before_due_s"] > 0:  # else the tick overlapped event intake
                    ticks.append(result)
                emit(
                    {
                        "bench": "scale",
                        "phase": "mass_tick",
                        "run": run,
                        "size": args.mass,
                        **result,
                    }
                )
            load_result = asyncio.run(steady(server, topics, worker, args.rate, args.seconds))
            emit({"bench": "scale", "phase": "steady", **load_result})
            recoveries = []
            for run in range(args.runs):
                result = asyncio.run(recovery(server, topics, worker, f"P{run}"))
                recoveries.append(result)
                emit({"bench": "scale", "phase": "recovery", "run": run, **result})
        finally:
            worker.stop()
            asyncio.run(delete_topics(server, topics))
    emit(
        {
            "summary": "scale",
            "tickets": args.tickets,
            "bytes_per_open_ticket": round((rss - empty) / max(indexed, 1)),
            "cold_recovery_ready_s": round(cold_s, 1),
            "mass_tick_size": args.mass,
            "mass_tick_valid_runs": len(ticks),
            "median_mass_tick_last_minus_due_s": median(
                [r["last_minus_due_s"] for r in ticks] or [float("nan")]
            ),
            "median_mass_tick_spread_s": median([r["spread_s"] for r in ticks] or [float("nan")]),
            "steady_rate": args.rate,
            "delay_p50_s": load_result["delay_p50_s"],
            "delay_p99_s": load_result["delay_p99_s"],
            "median_recovery_ready_s": median([r["ready_s"] for r in recoveries]),
            "median_recovery_probe_alert_s": median(
                [r["probe_alert_after_kill_s"] for r in recoveries if r["probe_alert_after_kill_s"]]
                or [float("nan")]
            ),
        }
    )


if __name__ == "__main__":
    main()
