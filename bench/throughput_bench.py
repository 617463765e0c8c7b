"""Throughput: a worker draining N pre-loaded events, against a plain aiokafka loop.

Per run: N generated events (the realistic mix of `common.generate`) are loaded into a fresh
input topic. Then
- `baseline`: one aiokafka consumer + producer in this process reads the same records, decodes
  every JSON value, produces one record per 10 events, waits for the acks and commits after every
  fetched batch: the ceiling of a Python Kafka pipeline on this machine;
- `processor`: `python -m processor worker` (RocksDB store, default settings) with a fresh
  consumer group; timed from /healthz ready until its committed offsets reach the end of the
  loaded data (alerts are acked before the offsets of the events that raised them are committed,
  so the last event-driven alert is out by then). Also reported: when `sla_events_total` reached
  N (processing without the commit interval), and from process start.

    .venv/bin/python bench/throughput_bench.py [--events N] [--runs K] [--partitions P]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from common import bootstrap, emit, generate_keyed, machine, median

from devtools import (
    OffsetWatch,
    Topics,
    WorkerProcess,
    caught_up,
    create_topics,
    delete_topics,
    end_offsets,
    load,
)


async def baseline(server: str, topics: Topics, ends: dict[int, int]) -> float:
    """Seconds for the plain loop to consume, decode, produce 1/10 and commit everything."""
    tps = [TopicPartition(topics.events, p) for p in ends]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=server,
        group_id=f"{topics.app_id}-baseline",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=server, acks="all")
    await consumer.start()
    await producer.start()
    consumer.assign(tps)
    position = {tp: 0 for tp in tps}
    started = time.perf_counter()
    seen = 0
    try:
        while any(position[tp] < ends[tp.partition] for tp in tps):
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            acks = []
            for tp, records in batch.items():
                for record in records:
                    event = json.loads(record.value)
                    seen += 1
                    if seen % 10 == 0:
                        out = json.dumps({"ticket_id": event["ticket_id"], "n": seen}).encode()
                        acks.append(await producer.send(topics.alerts, out, key=record.key))
                position[tp] = records[-1].offset + 1
            await asyncio.gather(*acks)
            if batch:
                await consumer.commit({tp: position[tp] for tp in batch})
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


async def _watch(
    worker: WorkerProcess, server: str, topics: Topics, ends: dict[int, int], n: int
) -> tuple[float, float, float, float]:
    """(ready, all events counted, offsets committed, worker CPU seconds in between).

    /metrics is read once a second (a scrape costs the worker ~10 ms); the committed offsets
    (a broker call) every 0.1 s.
    """
    ready = await asyncio.to_thread(worker.wait_ready, 300, 0.05)
    cpu0 = worker.cpu_seconds()
    events_done = None
    next_scrape = 0.0
    async with OffsetWatch(server) as watch:
        while True:
            now = time.perf_counter()
            if events_done is None and now >= next_scrape:
                next_scrape = now + 1.0
                sample = await asyncio.to_thread(worker.metrics)
                counted = sample.get("sla_events_total", 0)
                if counted + sample.get("sla_invalid_events_total", 0) >= n:
                    events_done = now
            if caught_up(await watch.committed(topics.app_id, topics.events), ends):
                return ready, events_done or now, now, worker.cpu_seconds() - cpu0
            await asyncio.sleep(0.1)


def run_once(server: str, n: int, partitions: int, work: Path) -> dict[str, object]:
    topics = Topics.unique("tput", partitions)
    asyncio.run(create_topics(server, topics))
    try:
        t = time.perf_counter()
        records = ((k.encode(), v.encode()) for k, v in generate_keyed(n))
        asyncio.run(load(server, topics.events, records))
        load_s = time.perf_counter() - t
        ends = asyncio.run(end_offsets(server, topics.events, partitions))
        cpu = time.process_time()
        base_s = asyncio.run(baseline(server, topics, ends))
        base_cpu = time.process_time() - cpu
        worker = WorkerProcess(server, topics, work / topics.app_id, http_timeout=10).start()
        try:
            watched = asyncio.run(_watch(worker, server, topics, ends, n))
            ready, events_done, committed, proc_cpu = watched
            rss = worker.rss_bytes()
        finally:
            worker.stop()
        alerts = sum(asyncio.run(end_offsets(server, topics.alerts, partitions)).values())
    finally:
        asyncio.run(delete_topics(server, topics))
    proc_s = committed - ready
    return {
        "events": n,
        "partitions": partitions,
        "load_s": round(load_s, 2),
        "baseline_s": round(base_s, 2),
        "baseline_events_per_s": round(n / base_s),
        "baseline_events_per_cpu_s": round(n / base_cpu),
        "startup_s": round(ready - worker.started_at, 2),
        "processor_s": round(proc_s, 2),
        "processor_events_per_s": round(n / proc_s),
        "processor_events_per_cpu_s": round(n / proc_cpu),
        "processor_events_counted_s": round(events_done - ready, 2),
        "processor_from_spawn_events_per_s": round(n / (committed - worker.started_at)),
        "ratio": round(base_s / proc_s, 3),
        "alerts": alerts,
        "worker_rss_mb": round(rss / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="20,000 events, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.events, args.runs = 20_000, 1
    server = bootstrap()
    emit({"bench": "throughput", "machine": machine()})
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-tput-") as tmp:
        for run in range(args.runs):
            result = run_once(server, args.events, args.partitions, Path(tmp))
            results.append(result)
            emit({"bench": "throughput", "run": run, **result})
    emit(
        {
            "summary": "throughput",
            "events": args.events,
            "runs": args.runs,
            "median_processor_events_per_s": median(
                [r["processor_events_per_s"] for r in results]  # type: ignore[misc]
            ),
            "median_baseline_events_per_s": median(
                [r["baseline_events_per_s"] for r in results]  # type: ignore[misc]
            ),
            "median_ratio": median([r["ratio"] for r in results]),  # type: ignore[misc]
            "median_processor_events_per_cpu_s": median(
                [r["processor_events_per_cpu_s"] for r in results]  # type: ignore[misc]
            ),
            "median_baseline_events_per_cpu_s": median(
                [r["baseline_events_per_cpu_s"] for r in results]  # type: ignore[misc]
            ),
        }
    )


if __name__ == "__main__":
    main()
