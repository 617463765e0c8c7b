"""How every `sla-processor` command ends on bad input or broken I/O: one line on stderr and a
non-zero exit, never a traceback; `replay` fails when no line was valid and reads
`SLA_POLICY_FILE` like the worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sla_helpers import created

from devtools.processes import processor_env
from processor.cli import cli

CREATED = json.loads(created("T1", "2026-01-05T09:00:00Z", "gold", 1).model_dump_json())
UNTIL = "2026-01-05T10:00:00Z"  # the 75%, 90% and breach alerts of T1 are due by then


def invoke(
    args: list[str], stdin: str | None = None, env: dict[str, str | None] | None = None
) -> Result:
    return CliRunner().invoke(cli, args, input=stdin, env=env or {"SLA_POLICY_FILE": None})


def run(args: list[str], stdout: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a child process, its stdout the given file descriptor."""
    env = processor_env()
    return subprocess.run(
        [sys.executable, "-m", "processor", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(CREATED) + "\n")
    return path


def test_replay_fails_when_every_line_is_invalid() -> None:
    result = invoke(["replay", "-q", "-"], stdin='{"type": "nope"}\nnot json\n\n')
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "Error: no valid event in standard input: all 2 line(s) invalid"
    )


def test_replay_of_an_empty_input_or_with_one_valid_line_succeeds() -> None:
    assert invoke(["replay", "-q", "-"], stdin="").exit_code == 0
    assert invoke(["replay", "-q", "-"], stdin="\n \n").exit_code == 0
    mixed = invoke(["replay", "-q", "-"], stdin=f"not json\n{json.dumps(CREATED)}\n")
    assert mixed.exit_code == 0, mixed.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("missing.jsonl", "cannot read the input: missing.jsonl: No such file or directory"),
        (".", "cannot read the input: .: Is a directory"),
        ("/proc/self/mem", "cannot read /proc/self/mem: Input/output error"),  # EIO on read
    ],
)
def test_replay_of_an_unreadable_input_is_one_line(
    source: str, expected: str, tmp_path: Path
) -> None:
    result = run(["replay", "-q", source], subprocess.DEVNULL, tmp_path)
    assert result.returncode == 1
    assert one_error_line(result.stderr) == f"Error: {expected}"


WRITERS = {  # commands that write to stdout, each enough to need more than one write
    "replay": ["replay", "-q", "--until", UNTIL, "events.jsonl"],
    "policy-show": ["policy", "show"],
    "simulate": ["simulate", "--no-kafka", "--fast", "--tickets", "2000", "--seed", "1", "-q"],
}


@pytest.mark.parametrize("args", WRITERS.values(), ids=WRITERS.keys())
def test_a_full_disk_is_one_line(args: list[str], events: Path, tmp_path: Path) -> None:
    with open("/dev/full", "wb") as full:
        result = run(args, full.fileno(), tmp_path)
    assert result.returncode == 1
    assert "No space left on device" in one_error_line(result.stderr)


@pytest.mark.parametrize("args", WRITERS.values(), ids=WRITERS.keys())
def test_a_closed_pipe_is_one_line(args: list[str], events: Path, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        result = run(args, write_end, tmp_path)
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert "Broken pipe" in one_error_line(result.stderr)


def _policy(tmp_path: Path, version: str) -> Path:
    text = files("processor.domain").joinpath("default_policy.yaml").read_text("utf-8")
    path = tmp_path / f"{version}.yaml"
    path.write_text(text.replace('version: "okta-premier-success-1"', f'version: "{version}"'))
    return path


def _versions(result: Result) -> set[str]:
    assert result.exit_code == 0, result.stderr
    return {json.loads(line)["policy_version"] for line in result.stdout.splitlines()}


def test_replay_reads_sla_policy_file_and_policy_overrides_it(events: Path, tmp_path: Path) -> None:
    env: dict[str, str | None] = {"SLA_POLICY_FILE": str(_policy(tmp_path, "from-env"))}
    args = ["replay", "-q", "--until", UNTIL, str(events)]
    assert _versions(invoke(args, env=env)) == {"from-env"}
    flag = ["--policy", str(_policy(tmp_path, "from-flag"))]
    assert _versions(invoke([*args[:1], *flag, *args[1:]], env=env)) == {"from-flag"}
    assert _versions(invoke(args)) == {"okta-premier-success-1"}


def test_replay_with_an_unreadable_sla_policy_file_is_one_line(events: Path) -> None:
    result = invoke(["replay", "-q", str(events)], env={"SLA_POLICY_FILE": "/nonexistent.yaml"})
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("Error: /nonexistent.yaml: cannot read the policy file")
