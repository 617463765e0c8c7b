"""Durations as people write them in policy files (`30m`, `2h`, `1h30m`, `90s`, `7d`) and read
them in tables (`2h00m`, `1h48m`, `30m`)."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_HINT = "write e.g. 30m, 2h, 1h30m, 90s, 7d, or a whole number of seconds"


def parse_duration(value: object) -> timedelta:
    """A `timedelta` from a duration string (units d, h, m, s, largest first, no spaces), a whole
    number of seconds, or a `timedelta`. Raises `ValueError` with a hint otherwise."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match and any(match.groups()):
            seconds = sum(
                int(n) * s for n, s in zip(match.groups(), _UNITS.values(), strict=True) if n
            )
            return timedelta(seconds=seconds)
    raise ValueError(f"{value!r} is not a duration; {_HINT}")


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
