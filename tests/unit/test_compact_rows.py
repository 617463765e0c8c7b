"""Compact ticket rows (`processor.worker.rows`): every state of the simulator's mix round-trips,
rows written by the previous encoder (full keys, `+00:00`) still decode to the same state, and
an open ticket's row is over a third smaller."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_metrics_examples import EXAMPLE
from test_tombstones import LEGACY_OPEN, LEGACY_PENDING, LEGACY_STOPPED

from processor.domain.events import InvalidEvent, parse_event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy, load_policy
from processor.domain.state import TicketState
from processor.settings import Settings
from processor.simulate.model import SimConfig, generate
from processor.worker.app import create_app
from processor.worker.rows import compact, compact_state, decode_head, decode_state, encode_row
from processor.worker.table_store import klass_of

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def previous_encode_row(
    partition: int, next_due: datetime | None, klass: str | None, state: TicketState
) -> bytes:
    """The encoder of the release before compact rows, verbatim."""
    due = "-" if next_due is None else next_due.isoformat()
    body = json.dumps(state.to_dict(), separators=(",", ":"))
    return f"{partition} {due} {klass or '-'} {body}".encode()


def states(machine: SlaMachine, tickets: int) -> list[TicketState]:
    """Every state a ticket of the simulator's mix goes through, as rows (copies)."""
    held: dict[str, TicketState] = {}
    out = []
    for emission in generate(SimConfig(seed=5, start=START, tickets=tickets)):
        try:
            event = parse_event(emission.value, 64 * 1024)
        except InvalidEvent:
            continue
        state, _ = machine.apply(held.get(event.ticket_id), event, event.occurred_at)
        held[event.ticket_id] = state
        out.append(TicketState.from_dict(json.loads(json.dumps(state.to_dict()))))
    return out


@pytest.mark.parametrize("policy", ["first_response", "all_metrics"])
def test_every_state_of_the_mix_round_trips_in_both_row_forms(policy: str) -> None:
    machine = SlaMachine(default_policy() if policy == "first_response" else load_policy(EXAMPLE))
    seen = states(machine, 300)
    assert len(seen) > 1000
    assert {s.phase for s in seen} >= {"open", "stopped"}
    for state in seen:
        due, klass = machine.next_due(state), klass_of(state)
        for row in (encode_row(2, due, klass, state), previous_encode_row(2, due, klass, state)):
            assert decode_state(row) == state
            assert decode_head(row) == (2, due, klass)


@pytest.mark.parametrize("policy", ["first_response", "all_metrics"])
def test_the_direct_encoder_gives_what_compacting_the_full_dict_gives(policy: str) -> None:
    """`compact_state` (what `encode_row` writes) against `compact(state.to_dict())`, the rule
    it shortcuts: the same keys in the same order with the same values, for every state of the
    mix (open, pending, stopped; life, sent, pending events) and for hand-set odd fields."""
    machine = SlaMachine(default_policy() if policy == "first_response" else load_policy(EXAMPLE))
    seen = states(machine, 300)
    odd = decode_state(LEGACY_OPEN)
    odd.created_at = datetime.fromisoformat("2026-03-02T10:00:00+01:00")
    odd.origin, odd.met, odd.resolved_sent, odd.country = None, False, True, "FR"
    for state in [*seen, odd, decode_state(LEGACY_PENDING), decode_state(LEGACY_STOPPED)]:
        expected = compact(state.to_dict())
        got = compact_state(state)
        assert list(got.items()) == list(expected.items()), state.ticket_id
    assert any("n" in compact_state(s) for s in seen)  # some had alerts sent
    assert any(compact_state(s).get("p") == "stopped" for s in seen)


def test_rows_of_earlier_releases_still_decode() -> None:
    for legacy in (LEGACY_OPEN, LEGACY_PENDING, LEGACY_STOPPED):
        state = decode_state(legacy)
        assert decode_state(encode_row(0, None, None, state)) == state


def test_an_open_tickets_row_is_over_a_third_smaller_than_before() -> None:
    machine = SlaMachine(default_policy())
    opened = [s for s in states(machine, 200) if s.phase == "open"]
    new = sum(len(encode_row(1, machine.next_due(s), klass_of(s), s)) for s in opened)
    old = sum(len(previous_encode_row(1, machine.next_due(s), klass_of(s), s)) for s in opened)
    assert new < 0.65 * old, (new / len(opened), old / len(opened))


def test_non_utc_instants_and_a_field_at_a_non_default_value_are_kept() -> None:
    state = decode_state(LEGACY_OPEN)
    paris = datetime.fromisoformat("2026-03-02T10:00:00+01:00")
    state.created_at, state.met, state.resolved_sent = paris, False, True
    back = decode_state(encode_row(0, None, None, state))
    assert back == state and back.created_at.utcoffset() == paris.utcoffset()
    assert back.met is False and back.resolved_sent is True


def test_full_rows_for_a_rolling_upgrade_are_what_the_previous_release_reads() -> None:
    """SLA_ROW_FORMAT=full: the state JSON is `to_dict` with full keys, as the previous release
    wrote and read it (`TicketState.from_dict` of the body); compact rows it could not read."""
    for state in states(SlaMachine(default_policy()), 40):
        full = encode_row(2, None, klass_of(state), state, compact_row=False)
        body = json.loads(full.split(b" ", 3)[3])
        assert body == state.to_dict()
        assert TicketState.from_dict(body) == state  # the previous release's decoder
        assert decode_state(full) == state
        compact = json.loads(encode_row(2, None, None, state).split(b" ", 3)[3])
        assert "ticket_id" not in compact  # why the previous release cannot read it


@pytest.mark.parametrize(("row_format", "compact_rows"), [("compact", True), ("full", False)])
def test_the_row_format_setting_reaches_the_worker_store(
    row_format: str, compact_rows: bool, tmp_path: Path
) -> None:
    settings = Settings(store="memory://", data_dir=tmp_path, row_format=row_format)
    assert create_app(settings).service.store.compact_rows is compact_rows


def test_an_unknown_row_format_is_refused() -> None:
    with pytest.raises(ValueError, match="row_format"):
        Settings(row_format="short")
