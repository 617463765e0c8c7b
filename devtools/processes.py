"""`python -m processor <command>` as a child process: a clean environment, a log, a stop.

The worker has its own richer wrapper (`devtools.workers.WorkerProcess`); ingest, the pager,
the demo and the CLI tests start their commands through these.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["kill_process", "processor_env", "spawn_processor", "stop_process"]

REPO = Path(__file__).resolve().parents[1]


def processor_env(**settings: str) -> dict[str, str]:
    """This process's environment without any `SLA_*` setting of the caller's, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLA_")}
    env.update(settings)
    return env


def spawn_processor(
    args: Sequence[str], env: dict[str, str], log: Path, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    """`python -m processor *args`, stdout and stderr appended to `log` (its folder is made)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "processor", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 30.0) -> int | None:
    """SIGTERM, then SIGKILL after `grace` seconds; the exit code (None: never started)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


def kill_process(proc: subprocess.Popen[bytes] | None) -> None:
    """kill -9: no shutdown, no commit, no flush."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
