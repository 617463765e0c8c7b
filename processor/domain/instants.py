"""Instants and zones as events carry them: the one place that parses and formats timestamps.

An instant is an RFC 3339 date-time with seconds and an offset, `YYYY-MM-DDTHH:MM:SS[.fraction]`
then `Z` or `+HH:MM` / `-HH:MM` (`T` and `Z` in either case, as RFC 3339 allows). Nothing else is
read as a time: not epoch seconds, not `10:00Z` without seconds, not `+0100`, not a naive time.
A zone is an IANA name from the `tzdata` package's list, so what is accepted does not depend on
the host's own zone files (`localtime`, `posixrules` and `Factory` are not zones).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib.resources import files

from processor.domain.quoting import quote

__all__ = [
    "EARLIEST",
    "INSTANT_PATTERN",
    "LATEST",
    "ZONE_NAMES",
    "check_zone",
    "format_instant",
    "parse_instant",
    "to_utc",
]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Accepted instants are in [EARLIEST, LATEST): far enough from `datetime`'s limits that no
deadline computed from them overflows."""

_DATE_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
_OFFSET = r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
INSTANT_PATTERN = f"^{_DATE_TIME}{_OFFSET}$"
"""The shape of an instant, as a JSON Schema `pattern` (anchored, ASCII digits only)."""
_INSTANT = re.compile(_DATE_TIME + _OFFSET)
_FIRST_YEAR, _END_YEAR = EARLIEST.year, LATEST.year
_OUT_OF_RANGE = "timestamp must be between 1970-01-01 and 9000-01-01"
_EXAMPLE = "e.g. 2026-03-02T10:00:00Z or 2026-03-02T11:00:00+01:00"

# Names in the tz database's own list that are not places: host-dependent or a placeholder.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
ZONE_NAMES: frozenset[str] = (
    frozenset(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()) - _NOT_ZONES
)
"""The IANA zone names accepted, from the `tzdata` package (not the host)."""


def parse_instant(text: str) -> datetime:
    """The UTC instant of an RFC 3339 date-time (see the module docstring); `ValueError` with a
    short message otherwise, or when it is outside [1970-01-01, 9000-01-01)."""
    if not isinstance(text, str) or _INSTANT.fullmatch(text) is None:
        raise ValueError(
            f"{quote(text)} is not an RFC 3339 date-time with seconds and an offset ({_EXAMPLE})"
        )
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        raise ValueError(f"{quote(text)} is not a valid date-time ({_EXAMPLE})") from None
    if parsed.tzinfo is not UTC:
        try:
            parsed = parsed.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset
            raise ValueError(_OUT_OF_RANGE) from None
    if not _FIRST_YEAR <= parsed.year < _END_YEAR:  # both bounds are the start of a year
        raise ValueError(_OUT_OF_RANGE)
    return parsed


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC, range-checked as `parse_instant` does; `ValueError` otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no offset ({_EXAMPLE})")
    try:
        return _checked(value.astimezone(UTC))
    except OverflowError:
        raise ValueError(_OUT_OF_RANGE) from None


def _checked(utc: datetime) -> datetime:
    if not _FIRST_YEAR <= utc.year < _END_YEAR:
        raise ValueError(_OUT_OF_RANGE)
    return utc


def format_instant(at: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, seconds precision unless there are microseconds."""
    utc = at if at.tzinfo is UTC else at.astimezone(UTC)
    if utc.microsecond:
        return utc.isoformat(timespec="microseconds")[:-6] + "Z"
    return utc.isoformat(timespec="seconds")[:-6] + "Z"  # drops the "+00:00"


def check_zone(name: str) -> str:
    """`name` if it is an IANA zone name (see `ZONE_NAMES`); `ValueError` otherwise."""
    if name not in ZONE_NAMES:
        raise ValueError(f"unknown IANA time zone {quote(name)} (e.g. 'Europe/Paris', 'UTC')")
    return name
