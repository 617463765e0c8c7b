"""Mutation testing of the SLA core with mutmut (docs/mutation.md): the score per module, and
the bounded, seeded sample that CI checks.

    python -m devtools.mutation report              # after `mutmut run`: score per module
    python -m devtools.mutation sample --seed 19 --count 160 --min-score 0.80

`report` reads `mutants/` (git-ignored), where `make mutate` (`mutmut run`) works. `sample` works
in a fresh copy of processor/, tests/, devtools/ and examples/ under `.run/mutation-sample/`, so
it never disturbs a full run: it generates the mutants (mutmut's own generator), picks `count`
of them with a seeded random sample (the same code and seed always give the same mutants), runs
only those, and exits 1 if fewer than `min-score` of them are killed. The mutated files and the
runner's options are pyproject's [tool.mutmut]; the tests, devtools/mutmut_plugin.py's list.
Run from the repository root.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

MUTANTS = Path("mutants")
SAMPLE_DIR = Path(".run/mutation-sample")
KILLED = frozenset({"killed", "timeout", "caught by type check", "segfault"})
"""Statuses of a detected mutant (a timeout: the tests hung or looped on it)."""


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    module: str
    status: str

    @property
    def killed(self) -> bool:
        return self.status in KILLED


def module_of(name: str) -> str:
    """`processor.domain.machine.xǁSlaMachineǁ_stop__mutmut_3` -> `processor.domain.machine`."""
    for marker in (".x_", ".xǁ"):
        if marker in name:
            return name[: name.index(marker)]
    return name.rsplit(".", 1)[0]


def results(root: Path = MUTANTS) -> dict[str, Result]:
    """Every generated mutant and its status (`not checked` until it was run)."""
    from mutmut.__main__ import status_by_exit_code

    found: dict[str, Result] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, code in codes.items():
            found[name] = Result(name, module_of(name), status_by_exit_code[code])
    return found


def generate() -> list[str]:
    """Generate the mutants as `mutmut run` does first (it reuses them), and list their names."""
    import mutmut.__main__ as mm
    from mutmut.configuration import Config

    os.environ["MUTANT_UNDER_TEST"] = "mutant_generation"
    Config.ensure_loaded()
    MUTANTS.mkdir(exist_ok=True)
    mm.copy_src_dir()
    mm.copy_also_copy_files()
    mm.setup_source_paths()
    mm.create_mutants(1)
    return sorted(results())


def score_lines(chosen: list[Result]) -> list[str]:
    """One line per module and a total: killed/total and the percentage."""
    total: Counter[str] = Counter(r.module for r in chosen)
    killed: Counter[str] = Counter(r.module for r in chosen if r.killed)
    lines = [_line(m, killed[m], total[m]) for m in total]
    k, n = sum(killed.values()), sum(total.values())
    lines.append(_line("total", k, n))
    return sorted(lines[:-1]) + lines[-1:]


def pick(names: list[str], seed: int, count: int) -> list[str]:
    """The seeded sample: the `count` mutants whose sha256(seed:name) is smallest. The same names
    always give the same sample, and new or changed code elsewhere leaves most of it in place
    (a plain random draw over the list would be a new draw after any change)."""
    ranked = sorted(names, key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).digest())
    return sorted(ranked[:count])


def report(show_survivors: bool, seed: int, count: int) -> int:
    everything = results()
    found = [r for r in everything.values() if r.status != "not checked"]
    if not found:
        print("error: no mutmut results under mutants/; run `make mutate` first", file=sys.stderr)
        return 1
    print("\n".join(score_lines(found)))
    survivors = [r for r in found if not r.killed]
    print(f"{len(survivors)} not killed: " + ", ".join(f"{s} {c}" for s, c in _statuses(survivors)))
    if show_survivors:
        for r in survivors:
            print(f"  {r.status:<10} {r.name}")
    chosen = [everything[n] for n in pick(list(everything), seed, count)]
    if all(r.status != "not checked" for r in chosen):
        killed = sum(r.killed for r in chosen)
        print(f"the CI sample (seed {seed}, {count} mutants) in this run: {killed}/{len(chosen)}")
    return 0


def sample(seed: int, count: int, min_score: float, max_children: int) -> int:
    started = time.monotonic()
    _prepare_sample_dir()
    _in_sample_dir([sys.executable, "-m", "devtools.mutation", "generate"])
    names = sorted(results(SAMPLE_DIR / MUTANTS))
    chosen = pick(names, seed, count)
    print(f"mutation sample: {len(chosen)} of {len(names)} mutants (seed {seed})", flush=True)
    _in_sample_dir(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *chosen]
    )
    found = results(SAMPLE_DIR / MUTANTS)
    picked = [found[n] for n in chosen]
    print("\n".join(score_lines(picked)))
    survivors = [r for r in picked if not r.killed]
    for r in survivors:
        print(f"  {r.status:<10} {r.name}")
    killed = len(picked) - len(survivors)
    score = killed / max(len(picked), 1)
    verdict = "ok" if score >= min_score else "FAILED"
    print(
        f"mutation sample {verdict}: {killed}/{len(picked)} killed = {100 * score:.1f}% "
        f"(threshold {100 * min_score:.0f}%), {time.monotonic() - started:.0f} s"
    )
    return 0 if score >= min_score else 1


def _prepare_sample_dir() -> None:
    """A fresh copy of what the sample mutates and runs."""
    shutil.rmtree(SAMPLE_DIR, ignore_errors=True)
    SAMPLE_DIR.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in ("processor", "tests", "devtools", "examples"):
        shutil.copytree(name, SAMPLE_DIR / name, ignore=skip)
    shutil.copy2("pyproject.toml", SAMPLE_DIR / "pyproject.toml")


def _in_sample_dir(command: list[str]) -> None:
    """Run `command` in the sample's directory; exit with what it printed if it fails."""
    proc = subprocess.run(command, cwd=SAMPLE_DIR, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
        sys.exit(f"error: {' '.join(command[1:4])} exited {proc.returncode}")


def _line(name: str, killed: int, total: int) -> str:
    return f"{name:<34} {killed:>4}/{total:<4} {100 * killed / max(total, 1):5.1f}%"


def _statuses(found: list[Result]) -> list[tuple[str, int]]:
    return sorted(Counter(r.status for r in found).items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.mutation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="score per module of the last mutmut run")
    rep.add_argument("--survivors", action="store_true", help="list every mutant not killed")
    rep.add_argument("--seed", type=int, default=19, help="the CI sample to score as well")
    rep.add_argument("--count", type=int, default=160)
    smp = sub.add_parser("sample", help="run a seeded sample of mutants; fail under a score")
    smp.add_argument("--seed", type=int, default=19)
    smp.add_argument("--count", type=int, default=160)
    smp.add_argument("--min-score", type=float, default=0.80)
    smp.add_argument("--max-children", type=int, default=2)
    sub.add_parser("generate", help="generate the mutants in mutants/ and print their names")
    args = parser.parse_args(argv)
    if args.command == "report":
        return report(args.survivors, args.seed, args.count)
    if args.command == "generate":
        print(f"{len(generate())} mutants")
        return 0
    return sample(args.seed, args.count, args.min_score, args.max_children)


if __name__ == "__main__":
    sys.exit(main())
