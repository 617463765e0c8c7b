"""`sla-processor replay` (docs/contract.md#5-offline-replay): JSON lines in, alerts out, bad
lines on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from processor.cli import cli

EVENTS = [
    {
        "type": "ticket.created",
        "event_id": "c1",
        "ticket_id": "T1",
        "occurred_at": "2026-01-05T09:00:00Z",
        "customer_id": "acme",
        "tier": "gold",
        "priority": 1,
    },
    {
        "type": "ticket.agent_responded",
        "event_id": "n1",
        "ticket_id": "T1",
        "occurred_at": "2026-01-05T09:10:00Z",
        "public": False,
    },
    {
        "type": "ticket.created",
        "event_id": "c2",
        "ticket_id": "T2",
        "occurred_at": "2026-01-05T09:40:00Z",
        "customer_id": "acme",
        "tier": "gold",
        "priority": 4,
    },
    {
        "type": "ticket.agent_responded",
        "event_id": "r1",
        "ticket_id": "T1",
        "occurred_at": "2026-01-05T09:45:00Z",
    },
]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["replay", *args])
    return result.exit_code, result.stdout, result.stderr


def test_replay_prints_alerts_in_raise_order_and_a_summary(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(e) for e in EVENTS])
    code, out, err = run(str(path))
    assert code == 0
    alerts = [json.loads(line) for line in out.splitlines()]
    # T1 gold P1 (30m): 75% 09:22:30, 90% 09:27, breach 09:30 -- all passed when the 09:40 event
    # is read; the 09:45 response then resolves.
    assert [(a["type"], a["due_at"]) for a in alerts] == [
        ("sla.near_breach", "2026-01-05T09:22:30Z"),
        ("sla.near_breach", "2026-01-05T09:27:00Z"),
        ("sla.breached", "2026-01-05T09:30:00Z"),
        ("sla.resolved", "2026-01-05T09:45:00Z"),
    ]
    assert alerts[0]["emitted_at"] == "2026-01-05T09:40:00Z"
    assert alerts[0]["policy_version"]
    assert "4 events" in err and "0 invalid" in err


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(e) for e in EVENTS])
    assert run(str(path))[1] == run(str(path))[1]


def test_bad_lines_are_reported_with_line_number_and_the_rest_processed(tmp_path: Path) -> None:
    lines = [
        json.dumps(EVENTS[0]),
        "{oops",
        json.dumps({**EVENTS[1], "public": "no"}),
        json.dumps(EVENTS[2]),
        json.dumps(EVENTS[3]),
    ]
    code, out, err = run(str(write(tmp_path, lines)))
    assert code == 0
    assert "line 2: not_json" in err
    assert "line 3: invalid_field: public" in err
    assert len(out.splitlines()) == 4


def test_strict_turns_a_bad_line_into_a_non_zero_exit(tmp_path: Path) -> None:
    code, _out, err = run("--strict", str(write(tmp_path, [json.dumps(EVENTS[0]), "nope"])))
    assert code != 0
    assert "1 invalid line" in err


def test_until_raises_what_is_due_up_to_that_instant(tmp_path: Path) -> None:
    path = write(tmp_path, [json.dumps(EVENTS[0])])
    _, out, _ = run("--until", "2026-01-05T09:27:00Z", str(path))
    assert [json.loads(x)["threshold"] for x in out.splitlines()] == [0.75, 0.9]
    _, out, _ = run(str(path))
    assert out == ""  # without --until nothing is due: no later event was read


def test_until_needs_an_offset(tmp_path: Path) -> None:
    code, _, err = run("--until", "2026-01-05T09:27:00", str(write(tmp_path, ["{}"])))
    assert code == 2 and "is not an RFC 3339 date-time with seconds and an offset" in err


def test_reads_stdin_with_dash() -> None:
    result = CliRunner().invoke(cli, ["replay", "-"], input=json.dumps(EVENTS[0]) + "\n")
    assert result.exit_code == 0 and result.stdout == ""


def test_until_must_be_rfc3339_with_seconds(tmp_path: Path) -> None:
    code, _, err = run("--until", "2026-01-05T09:27Z", str(write(tmp_path, ["{}"])))
    assert code == 2 and "with seconds and an offset" in err
