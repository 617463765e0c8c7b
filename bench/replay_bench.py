"""Replay throughput: `sla-processor replay` over N generated events (default 1,000,000).

Prints JSON lines: the machine, then one line per run, then the median. Two measures:
`in_process` (the Replayer loop: parse, core, alert JSON) and `cli` (the whole command,
reading the file and writing alerts to /dev/null).

    .venv/bin/python bench/replay_bench.py [--events N] [--runs K]
    .venv/bin/python bench/replay_bench.py --metrics [--tickets N] [--runs K]

`--metrics` replays the simulator's realistic mix (customer replies, pending / on hold, solved,
reopened, closed; duplicates and malformed lines) in process with the shipped first-response-only
policy and with examples/policy-all-metrics.yaml, alternating runs, and prints both rates, their
ratio and the mean bytes of an open ticket's row under each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, generate, machine, median
from metrics_mix import mix_lines, open_row_bytes

from processor.domain.policy import Policy, default_policy, load_policy
from processor.replay import Replayer, replay_lines

ALL_METRICS = Path(__file__).resolve().parents[1] / "examples" / "policy-all-metrics.yaml"


def metrics_rate(policy: Policy, path: Path, events: int) -> tuple[float, int]:
    replayer = Replayer(policy)
    started = time.perf_counter()
    with path.open("rb") as handle:
        alerts = sum(len(a.to_json()) > 0 for a in replay_lines(handle, replayer))
    return events / (time.perf_counter() - started), alerts


def compare_metrics(tickets: int, runs: int) -> None:
    """All three metrics against first response only, on the simulator's mix."""
    lines = mix_lines(tickets)
    policies = {"first_response": default_policy(), "all_metrics": load_policy(ALL_METRICS)}
    rates: dict[str, list[float]] = {name: [] for name in policies}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.jsonl"
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        for run in range(runs):
            for name, policy in policies.items():
                rate, alerts = metrics_rate(policy, path, len(lines))
                rates[name].append(rate)
                emit({"bench": "replay_metrics", "run": run, "policy": name, "lines": len(lines),
                      "alerts": alerts, "events_per_s": round(rate)})  # fmt: skip
    rows = {name: open_row_bytes(policy, lines) for name, policy in policies.items()}
    fr, every = median(rates["first_response"]), median(rates["all_metrics"])
    emit(
        {
            "summary": "replay_metrics",
            "tickets": tickets,
            "lines": len(lines),
            "median_first_response_events_per_s": round(fr),
            "median_all_metrics_events_per_s": round(every),
            "all_metrics_over_first_response": round(every / fr, 3),
            "open_row_bytes": {name: round(mean, 1) for name, (_, mean) in rows.items()},
            "open_tickets": {name: count for name, (count, _) in rows.items()},
        }
    )


def in_process(path: Path) -> tuple[float, int]:
    replayer = Replayer(default_policy())
    started = time.perf_counter()
    with path.open("rb") as handle:
        alerts = sum(len(a.to_json()) > 0 for a in replay_lines(handle, replayer))
    return time.perf_counter() - started, alerts


def cli(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "processor", "replay", "--quiet", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100,000 events, 1 run")
    parser.add_argument("--metrics", action="store_true", help="all metrics vs first response")
    parser.add_argument("--tickets", type=int, default=20_000, help="with --metrics")
    args = parser.parse_args()
    if args.metrics:
        emit({"bench": "replay_metrics", "machine": machine()})
        compare_metrics(args.tickets, args.runs)
        return
    if args.quick:
        args.events, args.runs = 100_000, 1
    emit({"bench": "replay", "machine": machine()})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with path.open("w") as handle:
            for line in generate(args.events):
                handle.write(line + "\n")
        rates, cli_rates = [], []
        for run in range(args.runs):
            seconds, alerts = in_process(path)
            rates.append(args.events / seconds)
            cli_seconds = cli(path)
            cli_rates.append(args.events / cli_seconds)
            emit(
                {
                    "bench": "replay",
                    "run": run,
                    "events": args.events,
                    "alerts": alerts,
                    "in_process_s": round(seconds, 2),
                    "in_process_events_per_s": round(rates[-1]),
                    "cli_s": round(cli_seconds, 2),
                    "cli_events_per_s": round(cli_rates[-1]),
                }
            )
        emit(
            {
                "summary": "replay",
                "events": args.events,
                "runs": args.runs,
                "median_in_process_events_per_s": round(median(rates)),
                "median_cli_events_per_s": round(median(cli_rates)),
            }
        )


if __name__ == "__main__":
    main()
