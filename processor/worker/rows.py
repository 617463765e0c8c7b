"""Encoding of ticket-table values: `<partition> <next_due|-> <class|-> <state JSON>`.

The partition, next instant and census class (`tier:priority:risk` of an open ticket) come first,
so rebuilding the deadline index and the gauges after a rebalance reads three small fields per row
and parses the JSON of no ticket.

The state JSON is compact: one-letter keys (`COMPACT_KEYS`), fields at their default value left
out (`DEFAULTS`, and `origin` when it is `created_at`), UTC instants ending in `Z` instead of
`+00:00`: an open ticket's row is ~40-50% smaller than `TicketState.to_dict` as JSON.
`decode_state` reads both forms, so rows written by earlier releases (full keys) stay readable;
a release before this one cannot read compact rows, so a rolling upgrade from one writes full
rows first (`SLA_ROW_FORMAT=full`) and switches to compact once no old worker is left.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from processor.domain.state import TicketState

__all__ = [
    "COMPACT_KEYS",
    "DEFAULTS",
    "compact",
    "compact_state",
    "decode_head",
    "decode_state",
    "encode_row",
]

# One encoder/decoder for all rows: `json.dumps` with arguments builds a new encoder per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode

COMPACT_KEYS: dict[str, str] = {
    "ticket_id": "i",
    "phase": "p",
    "customer_id": "c",
    "tier": "t",
    "priority": "r",
    "timezone": "z",
    "created_at": "a",
    "origin": "o",
    "target_seconds": "s",
    "deadline": "d",
    "thresholds": "h",
    "sent": "n",
    "stopped_at": "x",
    "stop_reason": "y",
    "met": "m",
    "resolved_sent": "v",
    "pending": "q",
    "pending_since": "w",
    "seen": "e",
    "country": "k",
    "life": "l",
}
"""`TicketState.to_dict` key -> key in a compact row (a key missing here is kept as is)."""
_LONG = {short: long for long, short in COMPACT_KEYS.items()}
DEFAULTS: dict[str, Any] = {
    "phase": "open",
    "sent": [],
    "stopped_at": None,
    "stop_reason": None,
    "met": None,
    "resolved_sent": False,
    "pending": [],
    "pending_since": None,
    "country": None,
    "life": None,
}
"""Fields left out of a compact row when they have this value (and type)."""
_INSTANTS = ("created_at", "origin", "deadline", "stopped_at", "pending_since")
_UTC = "+00:00"


def _z(text: str) -> str:
    return text[: -len(_UTC)] + "Z" if text.endswith(_UTC) else text


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """`TicketState.to_dict()` as stored: short keys, defaults left out, `Z` instants."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "origin" and value == data["created_at"]:
            continue  # the usual case: read back as created_at
        if key in DEFAULTS:
            default = DEFAULTS[key]
            if value is default or (type(value) is type(default) and value == default):
                continue
        if key in _INSTANTS and value is not None:
            value = _z(value)
        elif key == "thresholds":
            value = [[f, _z(d)] for f, d in value]
        out[COMPACT_KEYS.get(key, key)] = value
    return out


def compact_state(state: TicketState) -> dict[str, Any]:
    """`compact(state.to_dict())`, built from the state directly (the worker encodes a row per
    event: this skips the full dict and its second pass; a test checks both give equal dicts
    in the same key order)."""
    created = state.created_at
    created_text = None if created is None else _z(created.isoformat())
    out: dict[str, Any] = {"i": state.ticket_id}
    if state.phase != "open":
        out["p"] = state.phase
    out["c"], out["t"], out["r"] = state.customer_id, state.tier, state.priority
    out["z"], out["a"] = state.timezone, created_text
    origin = state.origin
    origin_text = None if origin is None else _z(origin.isoformat())
    if origin_text != created_text:
        out["o"] = origin_text
    out["s"] = state.target_seconds
    deadline = state.deadline
    out["d"] = None if deadline is None else _z(deadline.isoformat())
    out["h"] = [[f, _z(d.isoformat())] for f, d in state.thresholds]
    if state.sent:
        out["n"] = [[d, t] for d, t in state.sent]
    if state.stopped_at is not None:
        out["x"] = _z(state.stopped_at.isoformat())
    if state.stop_reason is not None:
        out["y"] = state.stop_reason
    if state.met is not None:
        out["m"] = state.met
    if state.resolved_sent is not False:
        out["v"] = state.resolved_sent
    if state.pending:
        out["q"] = list(state.pending)
    if state.pending_since is not None:
        out["w"] = _z(state.pending_since.isoformat())
    out["e"] = list(state.seen)
    if state.country is not None:
        out["k"] = state.country
    if state.life is not None:
        out["l"] = state.life.to_dict()
    return out


def _expand(data: dict[str, Any]) -> dict[str, Any]:
    out = {_LONG.get(key, key): value for key, value in data.items()}
    out.setdefault("origin", out["created_at"])
    for key, default in DEFAULTS.items():
        if key not in out:
            out[key] = list(default) if isinstance(default, list) else default
    return out


def encode_row(
    partition: int,
    next_due: datetime | None,
    klass: str | None,
    state: TicketState,
    compact_row: bool = True,
) -> bytes:
    """A table value; `compact_row=False` writes the full keys earlier releases read."""
    due = "-" if next_due is None else _z(next_due.isoformat())
    body = _encode(compact_state(state) if compact_row else state.to_dict())
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
    """The state of a compact row, or of a row with full keys (earlier releases)."""
    data = _decode(row.split(b" ", 3)[3].decode())
    return TicketState.from_dict(data if "ticket_id" in data else _expand(data))
