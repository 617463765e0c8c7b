"""Invalid input at speed: how fast the worker dead-letters a backlog that is mostly bad records.

N records (default 20,000) are loaded into a fresh 6-partition input topic before the worker
starts: `--bad` of them (default 0.7) are not JSON, the rest valid `ticket.created` events. Each
worker (this tree's, and `--checkout name=DIR` ones, e.g. `git worktree add /tmp/c1 <commit>`)
reads them with its own topics, timed from /healthz ready until `sla_events_total` +
`sla_invalid_events_total` reach N; CPU seconds from /proc over the same span. Prints records/s
and records per CPU second per worker.

    .venv/bin/python bench/dlq_bench.py [--records N] [--bad F] [--checkout name=DIR ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from common import bootstrap, emit, machine, worker_from

from devtools import Topics, WorkerProcess, create_topics, delete_topics, load


def records(count: int, bad: float, seed: int = 7) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        key = f"D-{i}".encode()
        if rng.random() < bad:
            out.append((key, b"not json " + rng.randbytes(20).hex().encode()))
            continue
        body = {
            "type": "ticket.created",
            "event_id": f"D-{i}-c",
            "ticket_id": f"D-{i}",
            "occurred_at": "2026-03-02T10:00:00Z",
            "customer_id": "c",
            "tier": "gold",
            "priority": 3,
        }
        out.append((key, json.dumps(body).encode()))
    return out


def run(server: str, name: str, argv: list[str] | None, data: list[tuple[bytes, bytes]],
        work: Path) -> dict[str, object]:  # fmt: skip
    topics = Topics.unique(f"dlq-{name}", 6)
    asyncio.run(create_topics(server, topics))
    asyncio.run(load(server, topics.events, data))
    worker = WorkerProcess(server, topics, work / name, http_timeout=10)
    if argv is not None:
        worker.argv = argv
    try:
        worker.start()
        started = worker.wait_ready(timeout=300, poll=0.1)
        cpu0 = worker.cpu_seconds()
        while True:
            sample = worker.metrics()
            done = sample.get("sla_events_total", 0) + sample.get("sla_invalid_events_total", 0)
            if done >= len(data):
                break
            time.sleep(0.1)
        wall, cpu = time.perf_counter() - started, worker.cpu_seconds() - cpu0
    finally:
        worker.stop()
        asyncio.run(delete_topics(server, topics))
    return {
        "worker": name,
        "records": len(data),
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "records_per_s": round(len(data) / wall),
        "records_per_cpu_s": round(len(data) / cpu) if cpu else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--bad", type=float, default=0.7)
    parser.add_argument("--checkout", action="append", default=[], help="name=DIR")
    args = parser.parse_args()
    server = bootstrap()
    emit({"bench": "dlq", "machine": machine()})
    data = records(args.records, args.bad)
    workers: list[tuple[str, list[str] | None]] = [("worker", None)]
    for spec in args.checkout:
        name, _, path = spec.partition("=")
        workers.append((name, worker_from(str(Path(path).resolve()))))
    with tempfile.TemporaryDirectory(prefix="bench-dlq-") as tmp:
        for name, argv in workers:
            emit({"bench": "dlq", **run(server, name, argv, data, Path(tmp))})


if __name__ == "__main__":
    main()
