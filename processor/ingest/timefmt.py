"""Vendor timestamps to RFC 3339 (UTC, `Z`): the one place ingest parses time.

Zendesk sends `2025-01-08T14:25:30.123456789Z` (nanoseconds), Jira `2024-05-22T17:43:13.584+0000`
(no colon in the offset) or epoch milliseconds. Python's parser takes neither the ninth digit nor
`+0000`, so both are normalised here before anything reaches the topic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from processor.domain.alerts import format_instant

__all__ = ["BadInstant", "from_epoch_ms", "to_rfc3339"]

_PATTERN = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})$"
)


class BadInstant(ValueError):
    """A timestamp that is not RFC 3339 / ISO 8601 with an offset."""


def to_rfc3339(text: object) -> str:
    """`text` as RFC 3339 in UTC (`...Z`); raises `BadInstant` when it has no offset or is junk."""
    if not isinstance(text, str) or len(text) > 64:
        raise BadInstant("must be a timestamp string with an offset")
    match = _PATTERN.match(text.strip())
    if match is None:
        raise BadInstant(f"{text[:40]!r} is not a timestamp with an offset (RFC 3339)")
    day, clock, fraction, offset = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    if offset in ("Z", "z"):
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}.{micros}{offset}")
        return format_instant(parsed.astimezone(UTC))
    except (ValueError, OverflowError):
        raise BadInstant(f"{text[:40]!r} is not a valid date and time") from None


def from_epoch_ms(value: object) -> str:
    """Epoch milliseconds (Jira's `timestamp`) as RFC 3339 UTC."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInstant("must be epoch milliseconds (an integer)")
    try:
        return format_instant(datetime.fromtimestamp(value / 1000, UTC))
    except (ValueError, OverflowError, OSError):
        raise BadInstant(f"{value} is out of range") from None
