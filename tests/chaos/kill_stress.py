"""A harsher kill -9 scenario than `test_crashes.py`'s, run by hand (not collected by pytest):
the same 50,000 simulator records, the worker killed `--kills` times at random 0.2-4 s after
each ready, on a broker of its own; prints the verdict against replay and exits 1 on a missing
or unexpected alert. About 13 s per kill on the 2-core machine.

    .venv/bin/python tests/chaos/kill_stress.py [--kills 15] [--seed 1] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from chaos_helpers import judge, kill_repeatedly, scenario, utcnow  # noqa: E402

from devtools import (  # noqa: E402
    Topics,
    WorkerProcess,
    alerts_of,
    create_topics,
    free_port,
    produce,
    read_all,
)
from processor.localkafka import LocalKafka  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1, help="of the kill times")
    parser.add_argument("--dir", type=Path, help="broker and worker data (default: a temp dir)")
    args = parser.parse_args()
    out = args.dir or Path(tempfile.mkdtemp(prefix="kill-stress-"))
    kafka = LocalKafka(port=free_port(), controller_port=free_port(), data_dir=out / "kafka")
    kafka.start(timeout=120)
    worker = None
    try:
        topics = Topics.unique("stress", partitions=4)
        asyncio.run(create_topics(kafka.bootstrap, topics))
        values, keys = scenario(seed=81, events=50_000, now=utcnow())
        asyncio.run(produce(kafka.bootstrap, topics.events, values, keys))
        rng = random.Random(args.seed)
        worker = WorkerProcess(kafka.bootstrap, topics, out / "worker").start()
        kill_repeatedly(worker, args.kills, rng, within=(0.2, 4.0))
        time.sleep(3)
        end = utcnow()
        got = alerts_of(asyncio.run(read_all(kafka.bootstrap, topics.alerts, idle=3, timeout=120)))
        verdict = judge(values, got, end, read_until=utcnow())
        print(
            f"{verdict.line(f'kill -9 x{args.kills}')}, missing {len(verdict.missing)}, "
            f"unexpected {len(verdict.unexpected)} (worker log: {worker.log_path})"
        )
        return 1 if verdict.missing or verdict.unexpected else 0
    finally:
        if worker is not None:
            worker.stop()
        kafka.stop()


if __name__ == "__main__":
    sys.exit(main())
