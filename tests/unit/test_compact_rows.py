"""Compact ticket rows (`processor.worker.rows`): every state of the simulator's mix round-trips,
rows written by the previous encoder (full keys, `+00:00`) still decode to the same state, and
an open ticket's row is over a third smaller."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from test_metrics_examples import EXAMPLE
from test_tombstones import LEGACY_OPEN, LEGACY_PENDING, LEGACY_STOPPED

from processor.domain.events import InvalidEvent, parse_event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy, load_policy
from processor.domain.state import TicketState
from processor.simulate.model import SimConfig, generate
from processor.worker.rows import decode_head, decode_state, encode_row
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
