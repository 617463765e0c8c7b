"""Replay throughput: `sla-processor replay` over N generated events (default 1,000,000).

Prints JSON lines: the machine, then one line per run, then the median. Two measures:
`in_process` (the Replayer loop: parse, core, alert JSON) and `cli` (the whole command,
reading the file and writing alerts to /dev/null).

    .venv/bin/python bench/replay_bench.py [--events N] [--runs K]
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

from processor.domain.policy import default_policy
from processor.replay import Replayer, replay_lines


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
    args = parser.parse_args()
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
