"""Durations as people write them in policy files (`30m`, `2h`, `1h30m`, `90s`, `7d`) and read
them in tables (`2h00m`, `1h48m`, `30m`)."""

from __future__ import annotations

import re
from datetime import timedelta

from processor.domain.quoting import quote

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]

MAX_DURATION = timedelta(days=36_500)
"""Longest duration `parse_duration` returns (about 100 years); callers bound it further."""

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_MAX_SECONDS = int(MAX_DURATION.total_seconds())
_HINT = "write e.g. 30m, 2h, 1h30m, 90s, 7d, or a whole number of seconds"


def parse_duration(value: object) -> timedelta:
    """A `timedelta` from a duration string (units d, h, m, s, largest first, no spaces), a whole
    number of seconds, or a `timedelta`. Raises `ValueError` with a hint otherwise, or when it is
    longer than `MAX_DURATION` either way."""
    if isinstance(value, timedelta):
        seconds: int | float = value.total_seconds()
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (found := _string_seconds(value)) is not None:
        seconds = found
    else:
        raise ValueError(f"{quote(value)} is not a duration; {_HINT}")
    if abs(seconds) > _MAX_SECONDS:
        raise ValueError(f"{quote(value)} is too long; at most {MAX_DURATION.days}d")
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


def _string_seconds(text: str) -> int | None:
    match = _DURATION.fullmatch(text.strip())
    if not match or not any(match.groups()):
        return None
    if any(len(n) > 12 for n in match.groups() if n):  # too long, whatever the unit
        return _MAX_SECONDS + 1
    return sum(int(n) * s for n, s in zip(match.groups(), _UNITS.values(), strict=True) if n)


def format_duration(value: timedelta, days: bool = False) -> str:
    """Hours and minutes (`2h00m`, `24h00m`), minutes below an hour (`30m`), seconds only when
    present (`1h30m15s`, `45s`, `0.5s`). With `days`, a whole number of days reads `7d`."""
    if value < timedelta(0):
        return "-" + format_duration(-value, days)
    if days and value and value % timedelta(days=1) == timedelta(0):
        return f"{value.days}d"
    total_us = value // timedelta(microseconds=1)
    whole, micros = divmod(total_us, 1_000_000)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m" if minutes else "")
    if seconds or micros or not text:
        fraction = f".{micros:06d}".rstrip("0") if micros else ""
        width = 2 if text else 1
        text += f"{seconds:0{width}d}{fraction}s"
    return text
