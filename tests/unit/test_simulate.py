"""`sla-processor simulate`: the seeded event stream (model) and the command around it (cli)."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from processor.commands.simulate import parse_duration, parse_mix, simulate
from processor.domain.events import InvalidEvent, parse_event
from processor.simulate.model import TARGET_SECONDS, Emission, SimConfig, generate, seed_prefix

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def run(**overrides: Any) -> list[Emission]:
    options: dict[str, Any] = {"seed": 7, "start": START, "tickets": 300, **overrides}
    return list(generate(SimConfig(**options)))


@cache
def big() -> tuple[Emission, ...]:
    """5,000 tickets with the default mixes (shared by the statistical tests)."""
    return tuple(run(tickets=5000, seed=11))


def occurred(emission: Emission) -> datetime:
    assert emission.event is not None
    return datetime.fromisoformat(emission.event["occurred_at"])


def by_ticket(emissions: list[Emission] | tuple[Emission, ...]) -> dict[str, list[Emission]]:
    tickets: dict[str, list[Emission]] = defaultdict(list)
    for emission in emissions:
        if emission.kind != "malformed":
            tickets[emission.ticket_id].append(emission)
    return tickets


# -- the model ------------------------------------------------------------------------------


def test_same_seed_and_start_give_the_same_bytes_and_times() -> None:
    first, second = run(), run()
    assert [(e.emit_at, e.ticket_id, e.value) for e in first] == [
        (e.emit_at, e.ticket_id, e.value) for e in second
    ]


def test_different_seeds_give_different_ids_and_streams() -> None:
    one, other = run(seed=1), run(seed=2)
    assert seed_prefix(1) != seed_prefix(2)
    assert {e.ticket_id for e in one}.isdisjoint({e.ticket_id for e in other})
    assert [e.value for e in one][:5] != [e.value for e in other][:5]
    assert one[0].ticket_id == f"SIM-{seed_prefix(1)}-000001"


def test_emissions_come_in_emit_order_and_never_before_they_occurred() -> None:
    emissions = big()
    assert all(a.emit_at <= b.emit_at for a, b in itertools.pairwise(emissions))
    assert all(occurred(e) <= e.emit_at for e in emissions if e.kind != "malformed")


def test_each_ticket_starts_with_its_creation_and_follows_occurred_order() -> None:
    for events in by_ticket(big()).values():
        assert events[0].event is not None and events[0].event["type"] == "ticket.created"
        times = [occurred(e) for e in events]
        assert times == sorted(times)


def test_event_ids_are_unique_except_duplicates_which_repeat_the_previous_event() -> None:
    emissions = big()
    ids = [json.loads(e.value)["event_id"] for e in emissions if e.kind == "event"]
    assert len(ids) == len(set(ids))
    duplicates = [i for i, e in enumerate(emissions) if e.kind == "duplicate"]
    assert duplicates
    for i in duplicates:
        assert emissions[i].value == emissions[i - 1].value
        assert emissions[i].emit_at == emissions[i - 1].emit_at


def test_every_event_validates_and_every_malformed_one_is_rejected() -> None:
    reasons: Counter[str] = Counter()
    for emission in big():
        if emission.kind == "malformed":
            with pytest.raises(InvalidEvent) as info:
                parse_event(emission.value)
            reasons[info.value.reason] += 1
        else:
            assert parse_event(emission.value).event_id == json.loads(emission.value)["event_id"]
    assert set(reasons) == {"not_json", "unknown_type", "invalid_field"}
    assert all(b"\n" not in e.value and e.value.strip() for e in big())  # one line each
    assert all(e.ticket_id.encode() in e.value for e in big())  # even the truncated ones


def test_timestamps_are_rfc3339_utc_with_z() -> None:
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    assert all(stamp.match(e.event["occurred_at"]) for e in big() if e.kind == "event" and e.event)


def test_default_mixes_hold_over_5000_tickets() -> None:
    created = [e.event for e in big() if e.kind == "event" and e.event and "tier" in e.event]
    assert len(created) == 5000
    tiers = Counter(e["tier"] for e in created)
    priorities = Counter(e["priority"] for e in created)
    for tier, share in {"basic": 0.5, "silver": 0.3, "gold": 0.2}.items():
        assert tiers[tier] / 5000 == pytest.approx(share, abs=0.025)
    for priority, share in {1: 0.1, 2: 0.2, 3: 0.4, 4: 0.3}.items():
        assert priorities[priority] / 5000 == pytest.approx(share, abs=0.025)
    assert len({e["timezone"] for e in created}) >= 5
    assert len({e["customer_id"] for e in created}) <= 36


def test_custom_mixes_are_honoured() -> None:
    emissions = run(tiers={"gold": 1.0}, priorities={1: 1, 2: 1})
    created = [e.event for e in emissions if e.event and "tier" in e.event]
    assert {e["tier"] for e in created} == {"gold"}
    assert {e["priority"] for e in created} == {1, 2}


def test_story_shares_are_realistic() -> None:
    tickets = by_ticket(big())
    closed_unanswered, late, answered, changes, notes = 0, 0, 0, 0, 0
    for events in tickets.values():
        fields = [e.event for e in events if e.kind == "event" and e.event]
        created, rest = fields[0], fields[1:]
        public = [f for f in rest if f["type"] == "ticket.agent_responded" and f.get("public", 1)]
        changes += any(f["type"] == "ticket.priority_changed" for f in rest)
        notes += any(f.get("public") is False for f in rest)
        if not public:
            closed_unanswered += rest[-1]["status"] == "closed"
            continue
        answered += 1
        priority = next((f["priority"] for f in rest if "priority" in f), created["priority"])
        delay = _instant(public[0]) - _instant(created)
        late += delay.total_seconds() > TARGET_SECONDS[created["tier"], priority]
    assert closed_unanswered / 5000 == pytest.approx(0.05, abs=0.015)
    assert late / answered == pytest.approx(0.12, abs=0.03)
    assert changes / 5000 == pytest.approx(0.07, abs=0.02)  # 5% down + 3% up, minus P4/P1 ends
    assert notes / 5000 == pytest.approx(0.3, abs=0.03)


def _instant(event: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def test_noise_shares() -> None:
    kinds = Counter(e.kind for e in big())
    assert kinds["duplicate"] / kinds["event"] == pytest.approx(0.01, abs=0.004)
    assert kinds["malformed"] / kinds["event"] == pytest.approx(0.005, abs=0.003)


def test_arrivals_are_poisson_at_the_rate() -> None:
    created = [e for e in run(tickets=4000, rate=5.0) if e.event and "tier" in e.event]
    gaps = [(b.emit_at - a.emit_at).total_seconds() for a, b in itertools.pairwise(created)]
    assert sum(gaps) / len(gaps) == pytest.approx(0.2, rel=0.05)
    assert sum(g > 0.2 for g in gaps) / len(gaps) == pytest.approx(0.368, abs=0.03)  # e^-1


def test_backdate_shifts_occurred_at_and_emits_when_it_has_passed() -> None:
    plain, shifted = run(), run(backdate=timedelta(minutes=25))
    assert sorted(e.ticket_id for e in plain) == sorted(e.ticket_id for e in shifted)
    plain_times = {json.loads(e.value)["event_id"]: occurred(e) for e in plain if e.kind == "event"}
    creations: dict[str, datetime] = {}
    at_creation = at_occurrence = 0
    for emission in (e for e in shifted if e.kind == "event"):
        event_id, when = json.loads(emission.value)["event_id"], occurred(emission)
        assert when == plain_times[event_id] - timedelta(minutes=25)
        creation = creations.setdefault(emission.ticket_id, emission.emit_at)
        assert emission.emit_at == max(creation, when)
        at_creation += emission.emit_at == creation != when
        at_occurrence += emission.emit_at == when != creation
    assert at_creation and at_occurrence  # both sides of the max() happen


def test_limits_by_tickets_and_by_duration() -> None:
    assert len({e.ticket_id for e in run(tickets=17)}) == 17
    assert run(tickets=0) == []
    limited = run(tickets=None, duration=timedelta(minutes=10))
    assert limited and max(e.emit_at for e in limited) <= START + timedelta(minutes=10)
    assert len({e.ticket_id for e in limited}) == pytest.approx(1200, rel=0.1)


@pytest.mark.parametrize(
    "bad",
    [
        {"rate": 0},
        {"tiers": {"platinum": 1}},
        {"priorities": {1: 0}},
        {"start": datetime(2026, 1, 1)},  # noqa: DTZ001 (naive on purpose)
    ],
)
def test_config_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SimConfig(**{"seed": 1, "start": START, **bad})


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    backdate=st.integers(0, 3 * 3600),
    rate=st.floats(0.05, 50),
)
def test_order_invariants_hold_for_any_seed_rate_and_backdate(
    seed: int, backdate: int, rate: float
) -> None:
    emissions = run(seed=seed, rate=rate, tickets=60, backdate=timedelta(seconds=backdate))
    assert [e.emit_at for e in emissions] == sorted(e.emit_at for e in emissions)
    for events in by_ticket(emissions).values():
        times = [occurred(e) for e in events]
        assert times == sorted(times)
        assert all(when <= e.emit_at for when, e in zip(times, events, strict=True))
        assert all(e.emit_at >= events[0].emit_at for e in events)


# -- the command ----------------------------------------------------------------------------

ARGS = ["--seed", "7", "--start", "2026-03-02T09:00:00Z", "--tickets", "150", "--fast"]


def expected_bytes(tickets: int = 150) -> bytes:
    return b"".join(e.value + b"\n" for e in run(tickets=tickets))


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(simulate, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("25m", 1500), ("90s", 90), ("1h", 3600), ("1h30m", 5400), ("0", 0), ("1.5", 1.5),
     ("500ms", 0.5), ("2d", 172800), (" 10M ", 600)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "m", "25 minutes", "1h-5m", "-5s", "5x"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_mix() -> None:
    keys = {"basic": "basic", "gold": "gold"}
    assert parse_mix(" basic = 0.5 ,gold=1", keys) == {"basic": 0.5, "gold": 1.0}
    for bad, message in [("basic:0.5", "NAME=WEIGHT"), ("platinum=1", "one of basic, gold"),
                         ("gold=x", "not a number"), ("gold=-1", ">= 0"), ("gold=0", "positive"),
                         ("gold=nan", ">= 0")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_mix(bad, keys)


def test_no_kafka_out_file_holds_exactly_the_stream(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    code, stdout, stderr = invoke(*ARGS, "--no-kafka", "--out", str(out))
    assert code == 0, stderr
    assert out.read_bytes() == expected_bytes()
    assert stdout == ""
    assert "seed 7" in stderr and "done: " in stderr and "150 tickets" in stderr


def test_no_kafka_without_out_writes_stdout() -> None:
    result = CliRunner().invoke(simulate, [*ARGS, "--no-kafka", "--quiet"])
    assert result.exit_code == 0
    assert result.stdout_bytes == expected_bytes()
    assert result.stderr == ""


def test_a_random_seed_is_printed_so_the_run_can_be_repeated() -> None:
    code, stdout, stderr = invoke("--no-kafka", "--fast", "--tickets", "3")
    assert code == 0
    seed = int(re.search(r"seed (\d+)", stderr).group(1))  # type: ignore[union-attr]
    assert f"SIM-{seed_prefix(seed)}-000003" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--mix", "basic:1"], "Invalid value for '--mix'"),
     (["--priorities", "5=1"], "one of 1, 2, 3, 4"),
     (["--backdate", "soon"], "not a duration"),
     (["--start", "2026-03-02T09:00:00"], "no UTC offset"),
     (["--rate", "0"], "--rate")],
)  # fmt: skip
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    code, _, stderr = invoke(*args, "--no-kafka", "--fast", "--tickets", "1")
    assert code == 2
    assert message in stderr


def test_fast_needs_a_limit() -> None:
    code, _, stderr = invoke("--fast", "--no-kafka")
    assert code == 2 and "--fast needs --tickets or --duration" in stderr


def test_unreachable_broker_fails_fast_with_a_message_naming_it(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        bootstrap = f"127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening: refused
        began = time.monotonic()
        code, _, stderr = invoke(*ARGS, "--bootstrap-servers", bootstrap)
    assert code == 1
    assert time.monotonic() - began < 16
    assert f"Kafka at {bootstrap}" in stderr and "Traceback" not in stderr


def test_bootstrap_servers_and_topic_come_from_the_environment() -> None:
    result = CliRunner(
        env={"SLA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "SLA_EVENTS_TOPIC": "x"}
    ).invoke(simulate, ARGS)
    assert result.exit_code == 1
    assert "topic 'x' on Kafka at 127.0.0.1:1" in result.stderr


def test_paced_run_emits_in_real_time_and_lasts_its_duration() -> None:
    began = time.monotonic()
    code, stdout, _ = invoke("--no-kafka", "--seed", "3", "--rate", "20", "--duration", "1.2s")
    elapsed = time.monotonic() - began
    assert code == 0
    assert 1.2 <= elapsed < 3
    assert 5 <= stdout.count('"ticket.created"') <= 60


def test_ctrl_c_stops_cleanly_with_a_flushed_file_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    code = "from processor.commands.simulate import simulate; simulate(prog_name='simulate')"
    args = ["--no-kafka", "--rate", "50", "--seed", "5", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    banner, progress = proc.stderr.readline(), proc.stderr.readline()  # progress after 2 s
    assert "seed 5" in banner and "events sent" in progress
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    summary = stderr.strip().splitlines()[-1]
    assert summary.startswith("simulate: stopped: ")
    sent = int(re.search(r"stopped: ([\d,]+) events sent", summary).group(1).replace(",", ""))  # type: ignore[union-attr]
    data = out.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == sent > 50
    assert data.startswith(b'{"type":"ticket.created","event_id":"SIM-' + seed_prefix(5).encode())
