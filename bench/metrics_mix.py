"""The simulator's realistic mix as replay input, and the bytes of open-ticket rows.

Shared by `replay_bench.py --metrics` (throughput of all three metrics against first response
only) and usable on its own to measure rows:

    .venv/bin/python bench/metrics_mix.py [--tickets N] [--policy FILE]

prints the mean encoded row bytes of the open tickets once the input is replayed halfway (the
rows the ticket table holds at that moment), for the given policy (default: the shipped one).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from processor.domain.events import InvalidEvent, parse_event
from processor.domain.policy import Policy, default_policy, load_policy
from processor.replay import Replayer
from processor.simulate.model import SimConfig, generate
from processor.worker.rows import encode_row
from processor.worker.table_store import klass_of

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def mix_lines(tickets: int, seed: int = 11) -> list[bytes]:
    """The simulator's events (duplicates and malformed ones included), in emit order."""
    config = SimConfig(seed=seed, start=START, rate=0.5, tickets=tickets)
    return [e.value for e in generate(config)]


def open_row_bytes(policy: Policy, lines: list[bytes]) -> tuple[int, float]:
    """(open tickets, mean row bytes) after replaying the first half of `lines`."""
    replayer = Replayer(policy)
    for raw in lines[: len(lines) // 2]:
        try:
            replayer.feed(parse_event(raw))
        except InvalidEvent:
            continue
    machine = replayer.machine
    sizes = [
        len(encode_row(0, machine.next_due(s), klass_of(s), s))
        for s in replayer.store
        if s.phase == "open"
    ]
    return len(sizes), sum(sizes) / max(len(sizes), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--policy", type=Path)
    args = parser.parse_args()
    policy = load_policy(args.policy) if args.policy else default_policy()
    count, mean = open_row_bytes(policy, mix_lines(args.tickets))
    json.dump({"policy": policy.version, "open_tickets": count, "mean_row_bytes": round(mean, 1)},
              sys.stdout)  # fmt: skip
    print()


if __name__ == "__main__":
    main()
