"""`sla-processor report` against `sla-processor replay` on N generated events (default
1,000,000): the whole command each time (read the file, replay; replay writes its alerts to
/dev/null, report writes its text table, or its HTML file with --format html). Runs alternate
(replay, report, replay, ...) so a busy machine slows both alike. The goal: report no slower
than replay + 20%.

Prints JSON lines: the machine, one line per run, then the medians and the ratio.

    .venv/bin/python bench/report_bench.py [--events N] [--runs K] [--format text|html|json]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, generate, machine, median


def timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and the child's CPU seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", default="text", choices=["text", "html", "json"])
    parser.add_argument("--quick", action="store_true", help="100,000 events, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.events, args.runs = 100_000, 1
    emit({"bench": "report", "machine": machine()})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with path.open("w") as handle:
            for line in generate(args.events):
                handle.write(line + "\n")
        out = Path(tmp) / f"report.{args.format}"
        base = [sys.executable, "-m", "processor"]
        replay = [*base, "replay", "--quiet", str(path)]
        report = [*base, "report", "-q", "--format", args.format, "--out", str(out), str(path)]
        results: dict[str, list[tuple[float, float]]] = {"replay": [], "report": []}
        for run in range(args.runs):
            for name, command in (("replay", replay), ("report", report)):
                wall, cpu = timed(command)
                results[name].append((wall, cpu))
                record = {"bench": "report", "run": run, "command": name, "events": args.events,
                          "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}  # fmt: skip
                if name == "report":
                    record["output_bytes"] = out.stat().st_size
                emit(record)
        wall = {k: median([w for w, _ in v]) for k, v in results.items()}
        cpu = {k: median([c for _, c in v]) for k, v in results.items()}
        emit(
            {
                "summary": "report",
                "events": args.events,
                "runs": args.runs,
                "format": args.format,
                "median_replay_wall_s": round(wall["replay"], 2),
                "median_report_wall_s": round(wall["report"], 2),
                "median_replay_cpu_s": round(cpu["replay"], 2),
                "median_report_cpu_s": round(cpu["report"], 2),
                "report_over_replay_wall": round(wall["report"] / wall["replay"], 3),
                "report_over_replay_cpu": round(cpu["report"] / cpu["replay"], 3),
                "output_bytes": out.stat().st_size,
            }
        )


if __name__ == "__main__":
    main()
