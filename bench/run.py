"""`make bench`: run the benchmarks, collect their JSON lines, print a summary table.

Each benchmark runs as its own process against the benchmark broker ($BENCH_BOOTSTRAP, default
127.0.0.1:29092; start one with `python -m processor.localkafka start --port 29092
--controller-port 29093 --data-dir .run/bench-kafka`). JSON lines go to stdout and to
`.run/bench/results-<time>.jsonl`; the table at the end holds the medians against the aims.

    .venv/bin/python bench/run.py [--quick]
        [--only replay,throughput,scale,failover,ingest,tombstone,paging,report,delay]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {
    "replay": "replay_bench.py",
    "throughput": "throughput_bench.py",
    "scale": "scale_bench.py",
    "failover": "failover_bench.py",
    "ingest": "ingest_bench.py",
    "tombstone": "tombstone_bench.py",
    "delay": "delay_bench.py",
    "report": "report_bench.py",
    "paging": "paging_bench.py",
}
# (summary, field, label, aim, higher is better)
ROWS = [
    ("replay", "median_in_process_events_per_s", "replay, in process (events/s)", 200_000, True),
    ("replay", "median_cli_events_per_s", "replay, CLI (events/s)", 200_000, True),
    ("throughput", "median_worker_events_per_s", "(c) worker (events/s)", 5_000, True),
    (
        "throughput",
        "median_worker_events_per_cpu_s",
        "(c) worker events per CPU second",
        None,
        True,
    ),
    ("throughput", "median_plain_events_per_s", "(a) plain aiokafka loop (events/s)", None, True),
    ("throughput", "median_plain_events_per_cpu_s", "(a) plain loop events per CPU s", None, True),
    ("throughput", "median_naive_events_per_s", "(b) naive faust agent (events/s)", None, True),
    ("throughput", "median_naive_events_per_cpu_s", "(b) naive agent events per CPU s", None, True),
    ("throughput", "median_worker_over_plain", "c/a (events/s)", None, True),
    ("throughput", "median_worker_over_naive", "c/b (events/s)", 2.0, True),
    ("throughput", "median_worker_over_naive_cpu", "c/b (events per CPU s)", 2.0, True),
    ("delay", "worker_delay_p50_s", "alert delay p50, steady rate (s)", None, False),
    ("delay", "worker_delay_p99_s", "alert delay p99, steady rate (s)", 1.0, False),
    ("scale", "bytes_per_open_ticket", "RSS per open ticket (bytes)", 1024, False),
    ("scale", "cold_recovery_ready_s", "cold start from changelog (s)", None, False),
    ("scale", "median_mass_tick_last_minus_due_s", "mass tick: last alert - due (s)", None, False),
    ("scale", "median_mass_tick_spread_s", "mass tick: processing spread (s)", None, False),
    ("scale", "delay_p50_s", "alert delay p50 at steady rate (s)", None, False),
    ("scale", "delay_p99_s", "alert delay p99 at steady rate (s)", 1.0, False),
    ("scale", "median_recovery_ready_s", "kill -9 restart: /healthz ready (s)", 30, False),
    ("scale", "median_recovery_probe_alert_s", "kill -9: due alert out after kill (s)", 30, False),
    ("failover", "standby_ready_after_kill_s", "failover: kill -9 -> ready (s)", 30, False),
    ("failover", "standby_alert_after_kill_s", "failover: kill -9 -> due alert (s)", 30, False),
    ("failover", "standby_lost", "failover: tickets lost", 0, False),
    ("failover", "cold_ready_after_kill_s", "failover without standby: ready (s)", None, False),
    ("failover", "standby_bytes_per_open_ticket", "failover: RSS per open ticket", 1024, False),
    ("ingest", "max_webhooks_per_s", "ingest: signed Zendesk webhooks/s (acked)", 2000, True),
    ("ingest", "half_rate_p99_ms", "ingest: p99 at half that rate (ms)", 50, False),
    ("report", "report_over_replay_wall", "report / replay, wall time (1M events)", 1.2, False),
    ("report", "report_over_replay_cpu", "report / replay, CPU time (1M events)", 1.2, False),
]


def run(name: str, quick: bool, results: Path) -> list[dict[str, object]]:
    cmd = [sys.executable, str(HERE / BENCHES[name]), *(["--quick"] if quick else [])]
    env = {**os.environ, "BENCH_RESULTS": str(results)}
    print(f"# {' '.join(cmd)}", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, env=env)
    return [json.loads(line) for line in results.read_text().splitlines()]


def table(records: list[dict[str, object]]) -> str:
    summaries = {str(r["summary"]): r for r in records if "summary" in r}
    lines = [
        f"| {'measure':<40} | {'median':>12} | {'aim':>10} | met |",
        f"|{'-' * 42}|{'-' * 14}|{'-' * 12}|-----|",
    ]
    for summary, field, label, aim, higher in ROWS:
        value = summaries.get(summary, {}).get(field)
        if value is None:
            continue
        met = "" if aim is None else ("yes" if (value >= aim if higher else value <= aim) else "no")
        aim_text = "" if aim is None else f"{'>=' if higher else '<='} {aim}"
        lines.append(f"| {label:<40} | {value:>12} | {aim_text:>10} | {met:<3} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated subset")
    args = parser.parse_args()
    out = Path(".run/bench")
    out.mkdir(parents=True, exist_ok=True)
    results = out / f"results-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
    records: list[dict[str, object]] = []
    for name in args.only.split(","):
        records = run(name.strip(), args.quick, results)
    print(f"\nresults: {results}\n")
    print(table(records))


if __name__ == "__main__":
    main()
