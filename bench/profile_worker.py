"""Profile the worker on a backlog: py-spy samples it while it catches up, a summary is printed.

N events of the throughput benchmark's mix are loaded into fresh topics, a worker starts on them
(`SLA_*` variables of this process apply: `SLA_BATCH_MAX=1 ... profile_worker.py`), and once it
is ready `py-spy record` samples it until its committed offsets reach the end. The collapsed
stacks go to `--out` (open with speedscope or flamegraph.pl); the summary lists the functions with
the largest share of samples, inclusive (the function and what it calls) and self.

    .venv/bin/pip install py-spy   # not a project dependency
    .venv/bin/python bench/profile_worker.py [--events N] [--out stacks.txt] [--top 40]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # devtools/
from common import bootstrap, generate_keyed

from devtools import (
    OffsetWatch,
    Topics,
    WorkerProcess,
    caught_up,
    create_topics,
    delete_topics,
    end_offsets,
    load,
)


async def _until_caught_up(server: str, group: str, topic: str, ends: dict[int, int]) -> None:
    async with OffsetWatch(server) as watch:
        while not caught_up(await watch.committed(group, topic), ends):  # noqa: ASYNC110
            await asyncio.sleep(0.2)


def _function(frame: str) -> str:
    """`name (path/file.py:line)` -> `name file.py` (every line of a function counted together)."""
    name, _, where = frame.partition(" (")
    return f"{name} {where.rsplit('/', 1)[-1].rsplit(':', 1)[0]}"


def summary(stacks: Path, top: int) -> str:
    """Inclusive and self shares of the `top` functions in py-spy's raw (collapsed) output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        n = int(count)
        total += n
        names = [_function(f) for f in frames.split(";")]
        for name in set(names):
            inclusive[name] += n
        own[names[-1]] += n
    lines = [f"{total} samples", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    lines.append("self:")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(".run/profile/stacks.txt"))
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    server = bootstrap()
    topics = Topics.unique("prof", args.partitions)
    asyncio.run(create_topics(server, topics))
    lines = ((k.encode(), v.encode()) for k, v in generate_keyed(args.events))
    asyncio.run(load(server, topics.events, lines))
    ends = asyncio.run(end_offsets(server, topics.events, args.partitions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k.startswith("SLA_")}
    with tempfile.TemporaryDirectory(prefix="bench-prof-") as tmp:
        worker = WorkerProcess(server, topics, Path(tmp), http_timeout=10, extra_env=env).start()
        try:
            worker.wait_ready(300, 0.05)
            assert worker.proc is not None
            cpu0, started = worker.cpu_seconds(), time.perf_counter()
            record = [spy, "record", "--pid", str(worker.proc.pid), "--format", "raw"]
            record += ["--rate", str(args.rate), "--nonblocking", "--gil", "-o", str(args.out)]
            spying = subprocess.Popen([*record], stdout=subprocess.DEVNULL)
            asyncio.run(_until_caught_up(server, topics.app_id, topics.events, ends))
            wall, cpu = time.perf_counter() - started, worker.cpu_seconds() - cpu0
            spying.send_signal(2)  # SIGINT: py-spy writes what it has
            spying.wait(60)
        finally:
            worker.stop()
            asyncio.run(delete_topics(server, topics))
    print(f"{args.events} events in {wall:.1f} s, {cpu:.1f} CPU s (with py-spy sampling)")
    print(f"{args.events / wall:,.0f} events/s, {args.events / cpu:,.0f} events per CPU s")
    print(summary(args.out, args.top))


if __name__ == "__main__":
    main()
