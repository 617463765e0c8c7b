"""A consumed input record as the service sees it, and the tick records among them.

A tick is a record the worker itself appends to each input partition it owns: no key, no value,
and a `sla-tick` header carrying an RFC 3339 wall-clock instant (`processor.worker.app`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from processor.domain.instants import parse_instant

__all__ = ["TICK_HEADER", "InvalidTick", "Record", "tick_time"]

TICK_HEADER = "sla-tick"


@dataclass(frozen=True, slots=True)
class Record:
    """The parts of a consumed Kafka record the service needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class InvalidTick(ValueError):
    """A tick record whose header is not an RFC 3339 instant."""


def tick_time(record: Record) -> datetime | None:
    """The instant a tick record carries, None for an event; `InvalidTick` if malformed."""
    for name, value in record.headers:
        if name == TICK_HEADER:
            try:
                return parse_instant(value.decode())
            except (UnicodeDecodeError, ValueError):
                raise InvalidTick(f"{TICK_HEADER} header is not an RFC 3339 instant") from None
    return None
