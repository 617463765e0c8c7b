"""Event parsing: `parse_event` over N generated event lines (default 100,000), CPU time.

Prints JSON lines: the machine, one line per run, then the median. CPU time (not wall time) so
that a loaded machine disturbs the number less.

    .venv/bin/python bench/parse_bench.py [--events N] [--runs K]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, generate, machine, median

from processor.domain.events import parse_event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    lines = [line.encode() for line in generate(args.events)]
    emit({"bench": "parse", "machine": machine()})
    per_event = []
    for run in range(args.runs):
        started = time.process_time()
        for line in lines:
            parse_event(line)
        seconds = time.process_time() - started
        per_event.append(seconds / len(lines) * 1e6)
        emit({"bench": "parse", "run": run, "events": len(lines), "cpu_s": round(seconds, 3)})
    emit({"summary": "parse", "events": len(lines), "median_cpu_us_per_event": median(per_event)})


if __name__ == "__main__":
    main()
