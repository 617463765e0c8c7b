"""Byte-identical replay: `sla-processor replay` of this tree against a base git revision.

    .venv/bin/python bench/replay_identity.py [--base REV] [--events N] [--tickets N]

Writes large inputs (the benchmark generator's N events, default 1,000,000; the simulator's
realistic mix of N tickets, default 20,000, with duplicates and malformed lines; the same mix
with `partition` fields), extracts REV (default `main`) with `git archive` into a temporary
directory, and runs the `replay` command of both trees on every input with the shipped policy
and with examples/policy-all-metrics.yaml (and a `--until` / `--lateness` case). It prints one
JSON line per case with the sha256 of stdout (the alerts) and of stderr (the bad-line reports
and the summary) of each tree and whether they are identical, then a summary; it exits 1 if any
case differs. Both trees run with the same interpreter (this venv).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, generate
from metrics_mix import mix_lines

ROOT = Path(__file__).resolve().parents[1]
ALL_METRICS = ROOT / "examples" / "policy-all-metrics.yaml"


def extract(rev: str, into: Path) -> str:
    """The tree of `rev` under `into`; returns the full commit hash."""
    commit = subprocess.run(
        ["git", "rev-parse", f"{rev}^{{commit}}"], cwd=ROOT, check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return commit


def write_inputs(tmp: Path, events: int, tickets: int) -> dict[str, Path]:
    generated = tmp / "generated.jsonl"
    with generated.open("w") as handle:
        for line in generate(events):
            handle.write(line + "\n")
    lines = mix_lines(tickets)
    mix = tmp / "mix.jsonl"
    mix.write_bytes(b"".join(line + b"\n" for line in lines))
    partitioned = tmp / "mix-partitioned.jsonl"
    with partitioned.open("wb") as handle:
        for n, line in enumerate(lines):
            if line.startswith(b"{") and line.endswith(b"}") and n % 7:
                # A stable partition per ticket-ish position; every 7th line carries none.
                line = line[:-1] + b',"partition":' + str(n % 3).encode() + b"}"
            handle.write(line + b"\n")
    return {"generated": generated, "mix": mix, "mix_partitioned": partitioned}


def cases(inputs: dict[str, Path]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for name, path in inputs.items():
        out.append((f"{name}/first_response", [str(path)]))
        out.append((f"{name}/all_metrics", ["--policy", str(ALL_METRICS), str(path)]))
    mix = str(inputs["mix_partitioned"])
    out.append(("mix_partitioned/all_metrics/partitions3_lateness", [
        "--policy", str(ALL_METRICS), "--partitions", "3", "--lateness", "10m", mix,
    ]))  # fmt: skip
    out.append(("mix/all_metrics/until", [
        "--policy", str(ALL_METRICS), "--until", "2026-03-02T15:00:00Z", str(inputs["mix"]),
    ]))  # fmt: skip
    return out


def run(tree: Path, args: list[str], out: Path) -> tuple[str, str, int, float]:
    """(sha256 of stdout, sha256 of stderr, exit code, CPU seconds) of `replay` in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("SLA_POLICY_FILE", None)
    before = os.times()
    with out.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "processor", "replay", *args],
            cwd=tree, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False,
        )  # fmt: skip
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return _sha(out.read_bytes()), _sha(done.stderr), done.returncode, cpu


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        base = tmp / "base"
        commit = extract(args.base, base)
        head = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        emit({"bench": "replay_identity", "base": commit, "head": head, "uptime": _load()})
        inputs = write_inputs(tmp, args.events, args.tickets)
        differing = 0
        for label, replay_args in cases(inputs):
            ours = run(ROOT, replay_args, tmp / "ours.out")
            theirs = run(base, replay_args, tmp / "base.out")
            same = ours[:3] == theirs[:3]
            differing += not same
            emit({"case": label, "identical": same, "stdout_sha256": ours[0],
                  "base_stdout_sha256": theirs[0], "stderr_sha256": ours[1],
                  "base_stderr_sha256": theirs[1], "exit": [ours[2], theirs[2]],
                  "cpu_s": round(ours[3], 2), "base_cpu_s": round(theirs[3], 2),
                  "base_over_ours": round(theirs[3] / max(ours[3], 1e-9), 2)})  # fmt: skip
        emit({"summary": "replay_identity", "cases": len(cases(inputs)), "differing": differing})
    sys.exit(1 if differing else 0)


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return time.strftime("%H:%M:%S")


if __name__ == "__main__":
    main()
