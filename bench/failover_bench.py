"""Failover: a second worker takes over the partitions of a killed first one holding N open tickets.

Per mode (`--modes standby,cold`), on fresh topics:
1. N open tickets (default 1,000,000; gold P4, nothing due for 17 h) are written straight into
   the ticket table's changelog (`devtools.changelog`), and worker 1 starts and recovers them
   all (`cold_recovery_ready_s`); its resident memory 5 s after ready, minus that of an empty
   worker, per open ticket (`bytes_per_open_ticket`).
2. Worker 2 starts (`standby`: `SLA_STANDBY_REPLICAS=1` on both, so worker 2 keeps a copy of
   worker 1's partitions; `cold`: 0, it has no copy) and the group splits the partitions;
   the bench waits until worker 2 is ready and its standby copy has read the changelog.
3. A probe ticket on one of worker 1's partitions, due 1 s after the kill, is read by worker 1;
   kill -9 worker 1. Reported, from the kill: worker 2 ready with every partition
   (`ready_after_kill_s`: /healthz 200 once it owns them all) and the probe's alert out
   (`alert_after_kill_s`, its `emitted_at`); `indexed` against N + 1 (nothing lost).

The group notices the dead member after `SLA_SESSION_TIMEOUT` (10 s by default), which both
times include.

    .venv/bin/python bench/failover_bench.py [--tickets N] [--modes standby,cold] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from common import bootstrap, emit, machine
from scale_bench import AlertReader, rss_empty, ts

from devtools import REPO, Topics, WorkerProcess, create_topics, delete_topics, load
from devtools.changelog import created, fill_changelog, partition_of


def health(worker: WorkerProcess) -> dict[str, Any]:
    try:
        status, body = worker.get("/healthz")
    except OSError:
        return {"http": 0}
    return {"http": status, **json.loads(body)}


def owned(worker: WorkerProcess) -> set[int]:
    """Input partitions assigned to `worker` (the labels of its consumer-lag metric)."""
    try:
        body = worker.get("/metrics")[1].decode()
    except OSError:
        return set()
    return {
        int(line.split('partition="')[1].split('"')[0])
        for line in body.splitlines()
        if line.startswith("sla_consumer_lag_records{")
    }


def wait(pred: Any, timeout: float, what: str, poll: float = 0.1) -> float:
    """Poll `pred()` until true; returns time.time() then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.time()
        time.sleep(poll)
    raise SystemExit(f"failover bench: {what} not after {timeout} s")


def probe_key(tag: str, partitions: int, mine: set[int]) -> str:
    for i in range(10_000):
        if partition_of(f"{tag}-{i}".encode(), partitions) in mine:
            return f"{tag}-{i}"
    raise SystemExit("no probe key hashes to worker 1's partitions")


def one_mode(
    server: str, work: Path, mode: str, n: int, partitions: int, empty: int, code: Path
) -> dict[str, Any]:
    """`mode` standby or cold; `before`: cold, with the workers of the checkout `code`."""
    topics = Topics.unique(f"fo-{mode}", partitions)
    asyncio.run(create_topics(server, topics))
    env = {"SLA_STANDBY_REPLICAS": "1" if mode == "standby" else "0"} if mode != "before" else {}
    cwd = code if mode == "before" else REPO

    def worker(name: str) -> WorkerProcess:
        return WorkerProcess(server, topics, work / name, extra_env=env, http_timeout=10, cwd=cwd)

    one, two = worker(f"{mode}-1"), worker(f"{mode}-2")
    try:
        t = time.perf_counter()
        asyncio.run(fill_changelog(server, topics, n, datetime.now(UTC) - timedelta(hours=1)))
        fill_s = time.perf_counter() - t
        one.start()
        cold_s = one.wait_ready(timeout=1800, poll=0.1) - one.started_at
        time.sleep(5)
        rss = one.rss_bytes()
        two.start()
        t = time.perf_counter()
        wait(
            lambda: (
                (h := health(two))["http"] == 200
                and h.get("standby_remaining", 0) == 0
                and health(one)["http"] == 200
                and len(owned(one)) < partitions
            ),
            1800,
            "worker 2 ready with its standby copy complete",
            poll=1.0,
        )
        join_s = time.perf_counter() - t
        return {
            "mode": mode,
            "tickets": n,
            "changelog_fill_s": round(fill_s, 1),
            "cold_recovery_ready_s": round(cold_s, 1),
            "rss_mb": round(rss / 2**20, 1),
            "bytes_per_open_ticket": round((rss - empty) / n),
            "worker2_join_s": round(join_s, 1),
            "worker2_partitions_before": sorted(owned(two)),
            **asyncio.run(kill_and_take_over(server, topics, one, two, n)),
        }
    finally:
        one.stop()
        two.stop()
        asyncio.run(delete_topics(server, topics))


async def kill_and_take_over(
    server: str, topics: Topics, one: WorkerProcess, two: WorkerProcess, n: int
) -> dict[str, Any]:
    reader = AlertReader(server, topics)
    await reader.start()
    try:
        tid = probe_key("probe", topics.partitions, owned(one))
        before = (await asyncio.to_thread(one.metrics)).get("sla_events_total", 0)
        kill_at = datetime.now(UTC) + timedelta(seconds=3)
        due = kill_at + timedelta(seconds=1)  # gold P1: 75% of 30 min after creation
        value = created(tid, due - timedelta(minutes=22.5), "gold", 1)
        await load(server, topics.events, [(tid.encode(), value)])
        read = lambda: one.metrics().get("sla_events_total", 0) > before  # noqa: E731
        await asyncio.to_thread(wait, read, 60, "worker 1 read the probe")
        await asyncio.sleep(max((kill_at - datetime.now(UTC)).total_seconds(), 0))
        one.kill()
        killed = time.time()
        everything = set(range(topics.partitions))
        owns_all = await asyncio.to_thread(
            wait, lambda: owned(two) == everything, 300, "worker 2 assigned every partition"
        )
        ready = await asyncio.to_thread(
            wait, lambda: health(two)["http"] == 200, 1800, "worker 2 ready"
        )
        got = await reader.wait_for(lambda a: a["ticket_id"] == tid, 1, timeout=300)
    finally:
        await reader.stop()
    indexed = health(two).get("indexed", 0)
    return {
        "assigned_after_kill_s": round(owns_all - killed, 2),
        "ready_after_kill_s": round(ready - killed, 2),
        "alert_after_kill_s": round(ts(got[0]["emitted_at"]) - killed, 2) if got else None,
        "indexed": indexed,
        "lost": n + 1 - indexed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument(
        "--modes", default="standby,cold", help="comma-separated: standby, cold, before"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="mode `before`: a checkout of the code before (e.g. `git archive`), whose workers "
        "run cold, without standby replicas",
    )
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets")
    args = parser.parse_args()
    if args.quick:
        args.tickets = 20_000
    server = bootstrap()
    emit({"bench": "failover", "machine": machine()})
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        work = Path(tmp)
        empty = rss_empty(server, work)
        for mode in args.modes.split(","):
            code = args.before or REPO
            result = one_mode(
                server, work, mode.strip(), args.tickets, args.partitions, empty, code
            )
            results.append(result)
            emit({"bench": "failover", **result})
    summary: dict[str, Any] = {"summary": "failover", "tickets": args.tickets}
    for r in results:
        for key in ("ready_after_kill_s", "alert_after_kill_s", "lost", "bytes_per_open_ticket"):
            summary[f"{r['mode']}_{key}"] = r[key]
        summary[f"{r['mode']}_cold_recovery_ready_s"] = r["cold_recovery_ready_s"]
    emit(summary)


if __name__ == "__main__":
    main()
