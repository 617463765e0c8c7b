"""Encoding of ticket-table values: `<partition> <next_due|-> <class|-> <state JSON>`.

The partition, next instant and census class (`tier:priority:risk` of an open ticket) come first,
so rebuilding the deadline index and the gauges after a rebalance reads three small fields per row
and parses the JSON of no ticket.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

from processor.domain.state import TicketState

__all__ = ["decode_head", "decode_state", "encode_row"]

# One encoder/decoder for all rows: `json.dumps` with arguments builds a new encoder per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def encode_row(
    partition: int, next_due: datetime | None, klass: str | None, state: TicketState
) -> bytes:
    due = "-" if next_due is None else next_due.isoformat()
    body = _encode(state.to_dict())
    return f"{partition} {due} {klass or '-'} {body}".encode()


def decode_head(row: bytes) -> tuple[int, datetime | None, str | None]:
    """The partition, next instant and class of a row, without parsing the state."""
    partition, due, klass, _ = row.split(b" ", 3)
    return (
        int(partition),
        None if due == b"-" else datetime.fromisoformat(due.decode()),
        None if klass == b"-" else sys.intern(klass.decode()),  # one copy per class, not per row
    )


def decode_state(row: bytes) -> TicketState:
    return TicketState.from_dict(_decode(row.split(b" ", 3)[3].decode()))
