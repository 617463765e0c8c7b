"""Cost of a tombstone (the row of a stopped ticket), before and after shrinking it.

A realistic ticket: gold P2 in New York, a priority change to P1, an internal note, three alerts
(75%, 90%, breach), then the public answer (4 events), and the same with a fifth event (solved).
"before" is the tombstone as the previous release kept it (thresholds cleared, everything else
kept: origin, alerts sent, every event id); "after" is today's (`TicketState.shrink`).

Printed as JSON lines:
- `row`: bytes of the encoded table row (`encode_row`, what the changelog and RocksDB hold);
- `worst_row`: a tombstone that then received 300 more events (before: 256 remembered ids);
- `memory`: bytes per tombstone held decoded in memory, by tracemalloc over N distinct tickets
  (default 100,000): `before` with the previous release's decoder over its rows,
  `after` with `decode_state` over today's rows, `after_old_decoder` (today's rows, previous
  decoder: the shrinking alone, without the interning of shared strings), and `row_bytes` (the
  encoded rows themselves as Python `bytes`, as an in-memory table store keeps them).

    .venv/bin/python bench/tombstone_bench.py [--tickets N]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, machine

from processor.domain.alerts import format_instant
from processor.domain.events import Event, parse_event
from processor.domain.machine import SlaMachine
from processor.domain.policy import default_policy
from processor.domain.state import TicketState
from processor.worker.rows import decode_state, encode_row
from processor.worker.service import klass_of

OLD_RETENTION = timedelta(days=7)  # the previous release woke a tombstone after 7 days


def events(ticket: str, solved: bool) -> list[Event]:
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "created",
            "2026-03-02T09:00:00-05:00",
            {"customer_id": "cust-gold-03", "tier": "gold", "priority": 2},
        ),
        ("priority_changed", "2026-03-02T09:10:00-05:00", {"priority": 1}),
        ("agent_responded", "2026-03-02T09:20:00-05:00", {"public": False}),
        ("agent_responded", "2026-03-02T10:30:00-05:00", {"public": True}),
    ]
    if solved:
        steps.append(("status_changed", "2026-03-02T11:00:00-05:00", {"status": "solved"}))
    steps[0][2]["timezone"] = "America/New_York"
    return [
        parse_event(
            json.dumps(
                {
                    "type": f"ticket.{kind}",
                    "event_id": f"{ticket}-{n}",
                    "ticket_id": ticket,
                    "occurred_at": at,
                    **fields,
                }
            )
        )
        for n, (kind, at, fields) in enumerate(steps, start=1)
    ]


def tombstones(sla: SlaMachine, ticket: str, solved: bool) -> tuple[bytes, bytes]:
    """(before, after) rows of one ticket's tombstone."""
    state: TicketState | None = None
    old: TicketState | None = None
    for event in events(ticket, solved):
        if old is not None:
            old.seen.append(event.event_id)  # the previous release remembered it, then ignored it
        prior = None
        if state is not None and state.phase == "open":
            prior = replace(state, sent=list(state.sent), seen=list(state.seen))
        state, out = sla.apply(state, event, event.occurred_at)
        if prior is not None and state.phase == "stopped":
            # The alerts raised just before the stop: the previous release kept them as sent.
            prior.sent += [
                (format_instant(a.deadline), a.threshold)
                for a in out.alerts
                if a.threshold is not None
            ]
            old = _as_old_tombstone(prior, state, event.event_id)
    assert state is not None and old is not None and old.stopped_at is not None
    after_row = encode_row(3, sla.next_due(state), klass_of(state), state)
    before_row = encode_row(3, old.stopped_at + OLD_RETENTION, None, old)
    return before_row, after_row


def _as_old_tombstone(open_state: TicketState, stopped: TicketState, event_id: str) -> TicketState:
    """What the previous release's `_stop` left: only thresholds and early events cleared."""
    return replace(
        open_state,
        phase="stopped",
        stopped_at=stopped.stopped_at,
        stop_reason=stopped.stop_reason,
        met=stopped.met,
        resolved_sent=stopped.resolved_sent,
        thresholds=[],
        pending=[],
        seen=[*open_state.seen, event_id],
    )


def old_from_dict(data: dict[str, Any]) -> TicketState:
    """`TicketState.from_dict` of the previous release (no shrinking, no interning)."""
    return TicketState(
        **{k: data[k] for k in ("ticket_id", "phase", "customer_id", "tier", "priority")},
        timezone=data["timezone"],
        created_at=_dt(data["created_at"]),
        origin=_dt(data["origin"]),
        target_seconds=data["target_seconds"],
        deadline=_dt(data["deadline"]),
        thresholds=[(float(f), datetime.fromisoformat(d)) for f, d in data["thresholds"]],
        sent=[(str(d), float(t)) for d, t in data["sent"]],
        stopped_at=_dt(data["stopped_at"]),
        stop_reason=data["stop_reason"],
        met=data["met"],
        resolved_sent=data["resolved_sent"],
        pending=list(data["pending"]),
        pending_since=_dt(data["pending_since"]),
        seen=list(data["seen"]),
    )


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def old_decode(row: bytes) -> TicketState:
    return old_from_dict(json.loads(row.split(b" ", 3)[3]))


def per_item(build: Callable[[], list[Any]], count: int) -> float:
    """Bytes allocated and kept per item by `build()`, by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    kept = build()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(kept) == count
    return used / count


def worst_rows(sla: SlaMachine) -> tuple[int, int]:
    """Row lengths after 300 more events for the stopped ticket (late notes, redeliveries)."""
    before, after = tombstones(sla, "SIM-a-000123", solved=False)
    state = decode_state(after)
    old = old_decode(before)
    for n in range(300):
        event = parse_event(
            json.dumps(
                {
                    "type": "ticket.agent_responded",
                    "event_id": f"SIM-a-000123-late-{n}",
                    "ticket_id": "SIM-a-000123",
                    "occurred_at": "2026-03-03T09:00:00Z",
                }
            )
        )
        state, _ = sla.apply(state, event, event.occurred_at)
        old.remember(event.event_id)  # what the previous release did before ignoring it
    assert old.stopped_at is not None
    old_row = encode_row(3, old.stopped_at + OLD_RETENTION, None, old)
    return len(old_row), len(encode_row(3, sla.next_due(state), None, state))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    sla = SlaMachine(default_policy())
    emit({"machine": machine()})
    for solved in (False, True):
        before, after = tombstones(sla, "SIM-a-000123", solved)
        emit({"row": {"events": 5 if solved else 4, "before": len(before), "after": len(after)}})
    old_worst, new_worst = worst_rows(sla)
    emit({"worst_row": {"later_events": 300, "before": old_worst, "after": new_worst}})
    pairs = [tombstones(sla, f"SIM-a-{n:06d}", solved=n % 2 == 1) for n in range(args.tickets)]
    old_rows, new_rows = [p[0] for p in pairs], [p[1] for p in pairs]
    del pairs
    memory = {
        "tickets": args.tickets,
        "before": per_item(lambda: [old_decode(r) for r in old_rows], args.tickets),
        "after": per_item(lambda: [decode_state(r) for r in new_rows], args.tickets),
        "after_old_decoder": per_item(lambda: [old_decode(r) for r in new_rows], args.tickets),
        "row_bytes_before": sum(sys.getsizeof(r) for r in old_rows) / args.tickets,
        "row_bytes_after": sum(sys.getsizeof(r) for r in new_rows) / args.tickets,
    }
    emit({"memory": {k: round(v) if isinstance(v, float) else v for k, v in memory.items()}})


if __name__ == "__main__":
    main()
