"""In-process replay CPU time of this tree against a base git revision, runs alternating.

    .venv/bin/python bench/replay_versus.py [--base REV] [--events N] [--tickets N] [--runs K]

The machine is shared, so wall-clock rates swing with the load; this measures CPU seconds
(`time.process_time`) of the `Replayer` loop (parse, core, alert JSON), the way
`replay_bench.py` times it, in a fresh interpreter per run, alternating base and head on the same
inputs: the benchmark generator's N events (shipped policy) and the simulator's mix of N tickets
(shipped policy and examples/policy-all-metrics.yaml). Prints one JSON line per run, then per
input the median events per CPU second of each tree, the speed-up, and for the mix the
all-metrics / first-response ratio of each tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, generate, median
from metrics_mix import mix_lines
from replay_identity import ROOT, extract

ALL_METRICS = ROOT / "examples" / "policy-all-metrics.yaml"
_CHILD = """
import sys, time
from pathlib import Path
from processor.domain.policy import default_policy, load_policy
from processor.replay import Replayer, replay_lines
path, policy = sys.argv[1], sys.argv[2]
replayer = Replayer(load_policy(Path(policy)) if policy != "-" else default_policy())
with open(path, "rb") as handle:
    started = time.process_time()
    alerts = sum(len(a.to_json()) > 0 for a in replay_lines(handle, replayer))
    print(time.process_time() - started, alerts)
"""


def cpu_seconds(tree: Path, path: Path, policy: str) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), policy],
        cwd=tree, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds, alerts = done.stdout.split()
    return float(seconds), int(alerts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="main")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        commit = extract(args.base, tmp / "base")
        emit({"bench": "replay_versus", "base": commit, "load": os.getloadavg()})
        generated, mix = tmp / "generated.jsonl", tmp / "mix.jsonl"
        generated.write_text("".join(line + "\n" for line in generate(args.events)))
        lines = mix_lines(args.tickets)
        mix.write_bytes(b"".join(line + b"\n" for line in lines))
        inputs = {
            "generated/first_response": (generated, "-", args.events),
            "mix/first_response": (mix, "-", len(lines)),
            "mix/all_metrics": (mix, str(ALL_METRICS), len(lines)),
        }
        rates: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs):
            for label, (path, policy, count) in inputs.items():
                for tree_name, tree in (("base", tmp / "base"), ("head", ROOT)):
                    seconds, alerts = cpu_seconds(tree, path, policy)
                    rates.setdefault((label, tree_name), []).append(count / seconds)
                    rate = round(count / seconds)
                    emit({"run": run, "input": label, "tree": tree_name, "alerts": alerts,
                          "cpu_s": round(seconds, 3), "events_per_cpu_s": rate})  # fmt: skip
        summary: dict[str, object] = {"summary": "replay_versus", "load": os.getloadavg()}
        for label in inputs:
            base, head = median(rates[label, "base"]), median(rates[label, "head"])
            summary[label] = {"base": round(base), "head": round(head),
                              "speedup": round(head / base, 2)}  # fmt: skip
        for tree_name in ("base", "head"):
            ratio = median(rates["mix/all_metrics", tree_name]) / median(
                rates["mix/first_response", tree_name]
            )
            summary[f"all_over_first_{tree_name}"] = round(ratio, 3)
        emit(summary)


if __name__ == "__main__":
    main()
