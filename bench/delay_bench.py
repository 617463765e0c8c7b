"""Alert delay at a steady rate: `due_at` -> alert acked (its `emitted_at`), p50 / p99.

One worker per variant, one after the other on the same broker, each on fresh topics: `--rate`
events/s for `--seconds` (scale_bench's steady mix: 40% new gold P1 tickets whose 75% threshold
falls due 8-12 s later, 30% internal notes, 30% public responses; delivered at once). A variant
is `name:SLA_X=v,...`; `--before DIR` adds a variant `before` running the worker from another
checkout (e.g. `git worktree add /tmp/before <commit>`), for a before/after in one run. Set
`--rate` to half the worker's maximum sustained rate (throughput_bench's `worker_events_per_s`);
under `make bench` that is the default, read from the throughput results of the same run.

    .venv/bin/python bench/delay_bench.py [--rate R] [--seconds S] [--variant ...] [--before DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py, scale_bench.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from common import bootstrap, emit, machine, worker_from
from scale_bench import steady

from devtools import Topics, WorkerProcess, create_topics, delete_topics


def _variant(spec: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = spec.partition(":")
    return name, dict(a.split("=", 1) for a in assignments.split(",") if a)


def half_rate(default: int = 200) -> int:
    """Half the worker's events/s that throughput_bench measured earlier in this `make bench`
    run ($BENCH_RESULTS), else `default`."""
    results = os.environ.get("BENCH_RESULTS")
    if not results or not Path(results).exists():
        return default
    for line in reversed(Path(results).read_text().splitlines()):
        record = json.loads(line)
        if record.get("summary") == "throughput":
            return max(int(record["median_worker_events_per_s"]) // 2, 1)
    return default


def run(
    server: str,
    name: str,
    env: dict[str, str],
    argv: list[str] | None,
    args: argparse.Namespace,
    work: Path,
) -> dict[str, object]:
    topics = Topics.unique(f"delay-{name}", args.partitions)
    asyncio.run(create_topics(server, topics))
    worker = WorkerProcess(server, topics, work / name, http_timeout=10, extra_env=env)
    if argv is not None:
        worker.argv = argv
    try:
        worker.start()
        worker.wait_ready(timeout=300, poll=0.1)
        return asyncio.run(steady(server, topics, worker, args.rate, args.seconds))
    finally:
        worker.stop()
        asyncio.run(delete_topics(server, topics))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rate", type=int, help="events/s (default: half of this run's throughput, else 200)"
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--variant", action="append", default=[], help="name:SLA_X=v,...")
    parser.add_argument("--before", help="a checkout whose worker runs as variant `before`")
    parser.add_argument("--quick", action="store_true", help="15 s")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 15
    if args.rate is None:
        args.rate = half_rate()
    server = bootstrap()
    emit({"bench": "delay", "machine": machine()})
    variants: list[tuple[str, dict[str, str], list[str] | None]] = [("worker", {}, None)]
    if args.before:
        variants.insert(0, ("before", {}, worker_from(str(Path(args.before).resolve()))))
    variants += [(*_variant(v), None) for v in args.variant]
    summary: dict[str, object] = {"summary": "delay", "rate": args.rate, "seconds": args.seconds}
    with tempfile.TemporaryDirectory(prefix="bench-delay-") as tmp:
        for name, env, argv in variants:
            result = run(server, name, env, argv, args, Path(tmp))
            emit({"bench": "delay", "variant": name, **result})
            for key in ("delay_p50_s", "delay_p99_s", "delay_max_s", "worker_cpu_share"):
                summary[f"{name}_{key}"] = result[key]
    emit(summary)


if __name__ == "__main__":
    main()
