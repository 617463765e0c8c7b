"""Throughput, side by side on one broker in one run: (a) a plain aiokafka loop doing the
worker's I/O, (b) a naive Faust agent writing its table per event, (c) the worker.

Per run: N generated events (the realistic mix of `common.generate`) are loaded into a fresh
input topic, and the alerts the worker raises at each event are counted beforehand (offline,
with the replay runtime). Then, each with its own consumer group, over the same records:
- (a) `plain`: one aiokafka consumer + producer in this process: per fetched batch, decode every
  JSON value, produce one record per event to a compacted state topic (keyed by ticket) and the
  event's alerts to the alerts topic, wait for all the acks, commit;
- (b) `naive`: `bench/naive_agent.py` (faust, RocksDB table, `table[k] = v` per event, the same
  alerts awaited per event);
- (c) `worker`: `python -m processor worker` (RocksDB store, default settings), and the same
  worker with other settings (`--variant name:SLA_X=v,...`, e.g. `per_record:SLA_BATCH_MAX=1`,
  the worker handling one record at a time), and the worker of
  other checkouts (`--checkout name=DIR`: e.g. `git worktree add /tmp/c1 <commit>`), for a
  before/after of code changes in one run.
(b) and (c) are timed from /healthz ready until their committed offsets reach the end of the
loaded data (alerts are acked before the offsets of the events that raised them are
committed), CPU seconds from /proc over the same span; (a) from its first fetch, CPU seconds of
this process. Reported: events/s and events per CPU second of each, ratios c/a and c/b.

    .venv/bin/python bench/throughput_bench.py [--events N] [--runs K] [--partitions P]
        [--variant name:SLA_X=v,SLA_Y=w ...] [--checkout name=DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from common import bootstrap, emit, generate_keyed, machine, median, worker_from

from devtools import (
    OffsetWatch,
    Topics,
    WorkerProcess,
    caught_up,
    create_topics,
    end_offsets,
    load,
)
from processor.domain.events import parse_event
from processor.domain.policy import default_policy
from processor.kafka.partitioning import murmur2_partition
from processor.replay import Replayer

DEFAULT_VARIANTS: list[str] = []
"""None by default: the per-record loop (`per_record:SLA_BATCH_MAX=1`) now waits for each
record's changelog ack (~120 events/s), too slow to run on 100,000 events by default."""


def alert_counts(lines: list[tuple[str, str]], partitions: int) -> dict[str, int]:
    """event_id -> alerts the runtime raises at that event (replay, per-partition watermark)."""
    replayer = Replayer(default_policy())
    counts: dict[str, int] = {}
    for key, line in lines:
        event = parse_event(line.encode())
        raised = replayer.feed(event, murmur2_partition(key.encode(), partitions))
        if raised:
            counts[event.event_id] = len(raised)
    return counts


async def plain(server: str, topics: Topics, ends: dict[int, int], counts: dict[str, int]) -> float:
    """(a): seconds to consume, decode, write state + alerts, wait for the acks, commit."""
    tps = [TopicPartition(topics.events, p) for p in ends]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=server,
        group_id=f"{topics.app_id}-plain",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=server, acks="all")
    await consumer.start()
    await producer.start()
    consumer.assign(tps)
    position = {tp: 0 for tp in tps}
    state = f"{topics.app_id}-plain-state"
    started = time.perf_counter()
    try:
        while any(position[tp] < ends[tp.partition] for tp in tps):
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            acks = []
            for tp, records in batch.items():
                for record in records:
                    event = json.loads(record.value)
                    acks.append(await producer.send(state, record.value, key=record.key))
                    for _ in range(counts.get(event["event_id"], 0)):
                        acks.append(
                            await producer.send(topics.alerts, record.value, key=record.key)
                        )
                position[tp] = records[-1].offset + 1
            await asyncio.gather(*acks)
            if batch:
                await consumer.commit({tp: position[tp] for tp in batch})
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()


async def _watch(
    proc: WorkerProcess, server: str, group: str, topic: str, ends: dict[int, int]
) -> tuple[float, float]:
    """(seconds from ready until the committed offsets reach `ends`, CPU seconds meanwhile)."""
    ready = await asyncio.to_thread(proc.wait_ready, 300, 0.05)
    cpu0 = proc.cpu_seconds()
    async with OffsetWatch(server) as watch:
        while True:
            if caught_up(await watch.committed(group, topic), ends):
                break
            await asyncio.sleep(0.1)
    return time.perf_counter() - ready, proc.cpu_seconds() - cpu0


def timed(
    proc: WorkerProcess, server: str, group: str, topic: str, ends: dict[int, int]
) -> dict[str, float]:
    proc.start()
    try:
        wall, cpu = asyncio.run(_watch(proc, server, group, topic, ends))
        rss = proc.rss_bytes()
    finally:
        proc.stop()
    return {"s": wall, "cpu_s": cpu, "rss_mb": rss / 2**20}


Variant = tuple[str, dict[str, str], list[str] | None]
"""(name, extra SLA_ settings, argv of another checkout's worker or None)"""


def run_once(
    server: str, n: int, partitions: int, work: Path, variants: list[Variant]
) -> dict[str, object]:
    topics = Topics.unique("tput", partitions)
    asyncio.run(create_topics(server, topics))
    state = f"{topics.app_id}-plain-state"
    asyncio.run(
        _admin(
            server,
            lambda a: a.create_topics(
                [NewTopic(state, partitions, 1, topic_configs={"cleanup.policy": "compact"})]
            ),
        )
    )
    try:
        lines = list(generate_keyed(n))
        counts = alert_counts(lines, partitions)
        work.mkdir(parents=True, exist_ok=True)
        counts_file = work / f"{topics.app_id}-alerts.json"
        counts_file.write_text(json.dumps(counts))
        asyncio.run(load(server, topics.events, ((k.encode(), v.encode()) for k, v in lines)))
        ends = asyncio.run(end_offsets(server, topics.events, partitions))
        out: dict[str, object] = {
            "events": n,
            "partitions": partitions,
            "alerts": sum(counts.values()),
        }
        cpu = time.process_time()
        wall = asyncio.run(plain(server, topics, ends, counts))
        _rates(out, "plain", n, wall, time.process_time() - cpu)
        naive = WorkerProcess(
            server,
            topics,
            work / "naive",
            http_timeout=10,
            extra_env={"BENCH_ALERTS_FILE": str(counts_file)},
            argv=["bench/naive_agent.py", "worker"],
        )
        got = timed(naive, server, f"{topics.app_id}-naive", topics.events, ends)
        _rates(out, "naive", n, got["s"], got["cpu_s"])
        for name, env, argv in variants:
            mine = dataclasses.replace(topics, app_id=f"{topics.app_id}-{name}")
            proc = WorkerProcess(server, mine, work / name, http_timeout=10, extra_env=env)
            if argv is not None:
                proc.argv = argv
            got = timed(proc, server, mine.app_id, topics.events, ends)
            _rates(out, name, n, got["s"], got["cpu_s"])
            out[f"{name}_rss_mb"] = round(got["rss_mb"], 1)
            for other in ("plain", "naive"):
                out[f"{name}_over_{other}"] = round(
                    out[f"{name}_events_per_s"] / out[f"{other}_events_per_s"], 3
                )  # type: ignore[operator]
                out[f"{name}_over_{other}_cpu"] = round(
                    out[f"{name}_events_per_cpu_s"] / out[f"{other}_events_per_cpu_s"], 3
                )  # type: ignore[operator]
        return out
    finally:
        asyncio.run(_drop(server, topics.app_id.removesuffix("-app")))


def _rates(out: dict[str, object], name: str, n: int, wall: float, cpu: float) -> None:
    out[f"{name}_s"] = round(wall, 2)
    out[f"{name}_cpu_s"] = round(cpu, 2)
    out[f"{name}_events_per_s"] = round(n / wall)
    out[f"{name}_events_per_cpu_s"] = round(n / cpu)


def _variant(spec: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = spec.partition(":")
    env = dict(a.split("=", 1) for a in assignments.split(",") if a)
    return name, env


async def _admin(server: str, call: Callable[[AIOKafkaAdminClient], Any]) -> Any:
    admin = AIOKafkaAdminClient(bootstrap_servers=server)
    await admin.start()
    try:
        return await call(admin)
    finally:
        await admin.close()


async def _drop(server: str, tag: str) -> None:
    """Delete every topic of the run (inputs, the plain loop's state, each app's changelogs)."""
    try:
        names = [t for t in await _admin(server, lambda a: a.list_topics()) if t.startswith(tag)]
        await _admin(server, lambda a: a.delete_topics(names))
    except Exception as exc:  # cleanup is best effort
        print(f"warning: could not delete topics: {exc}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--variant", action="append", help="name:SLA_X=v,... (a worker run)")
    parser.add_argument("--checkout", action="append", default=[], help="name=DIR (a worker run)")
    parser.add_argument("--quick", action="store_true", help="20,000 events, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.events, args.runs = 20_000, 1
    specs = DEFAULT_VARIANTS if args.variant is None else args.variant
    variants: list[Variant] = [("worker", {}, None), *((*_variant(v), None) for v in specs)]
    for spec in args.checkout:
        name, _, checkout = spec.partition("=")
        variants.append((name, {}, worker_from(str(Path(checkout).resolve()))))
    server = bootstrap()
    emit({"bench": "throughput", "machine": machine()})
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-tput-") as tmp:
        for run in range(args.runs):
            result = run_once(server, args.events, args.partitions, Path(tmp) / str(run), variants)
            results.append(result)
            emit({"bench": "throughput", "run": run, **result})
    keys = [
        k
        for k, v in results[0].items()
        if isinstance(v, float | int) and k not in ("events", "partitions")
    ]
    summary: dict[str, object] = {"summary": "throughput", "events": args.events, "runs": args.runs}
    for key in keys:
        summary[f"median_{key}"] = median([r[key] for r in results])  # type: ignore[misc]
    emit(summary)


if __name__ == "__main__":
    main()
