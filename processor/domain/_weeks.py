"""Internals of `WeeklyCalendar`: local wall-clock resolution and one week of open intervals.

All instants here are integers: microseconds since 1970-01-01T00:00:00Z. Integer arithmetic keeps
durations exact, and it is faster than `datetime` arithmetic on the hot path.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_SECOND_US = 1_000_000

Interval = tuple[int, int]


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch of a timezone-aware datetime (exact)."""
    return (instant - EPOCH) // MICROSECOND


def from_us(us: int) -> datetime:
    """The UTC datetime `us` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=us)


def _wall(us: int, zone: ZoneInfo) -> datetime:
    return from_us(us).astimezone(zone).replace(tzinfo=None)


def resolve_local(wall: datetime, zone: ZoneInfo) -> int:
    """The first instant at which the wall clock of `zone` reads `wall` or later.

    For an ordinary local time that is its only instant; for an ambiguous one (fall-back) it is
    the first occurrence (fold=0); for one that does not exist (spring-forward gap) it is the
    transition instant, the first real instant after the gap.
    """
    candidates = sorted({to_us(wall.replace(tzinfo=zone, fold=fold)) for fold in (0, 1)})
    for us in candidates:
        if _wall(us, zone) == wall:
            return us
    return _gap_end(wall, zone, candidates[0], candidates[-1])


def _gap_end(wall: datetime, zone: ZoneInfo, low: int, high: int) -> int:
    """Bisect (in whole seconds: tz transitions fall on whole seconds) for the first instant
    whose wall time is >= `wall`; the wall clock reads before `wall` at `low`, after at `high`."""
    lo, hi = low // _SECOND_US, -(-high // _SECOND_US)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(mid * _SECOND_US, zone) >= wall:
            hi = mid
        else:
            lo = mid
    return hi * _SECOND_US


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-touching intervals covering the non-empty input intervals."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(intervals: Sequence[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """`intervals` minus `holes`; both sorted and disjoint."""
    result: list[Interval] = []
    for start, end in intervals:
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def clip(intervals: Sequence[Interval], low: int, high: int) -> list[Interval]:
    """`intervals` restricted to [low, high)."""
    return [(max(s, low), min(e, high)) for s, e in intervals if s < high and e > low]


@dataclass(frozen=True, slots=True)
class Week:
    """The open intervals of one local week [start, end) (Monday 00:00 to Monday 00:00).

    `cum_end[i]` is the open time in [start, ends[i]).
    """

    key: int  # proleptic ordinal of the local Monday
    start: int
    end: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    cum_end: tuple[int, ...]
    total: int

    @classmethod
    def build(cls, key: int, start: int, end: int, intervals: Sequence[Interval]) -> Week:
        running, cum_end = 0, []
        for s, e in intervals:
            running += e - s
            cum_end.append(running)
        starts = tuple(s for s, _ in intervals)
        ends = tuple(e for _, e in intervals)
        return cls(key, start, end, starts, ends, tuple(cum_end), running)

    def open_until(self, us: int) -> int:
        """Open time in [start, us), for start <= us <= end."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.cum_end[i] - self.ends[i] + min(us, self.ends[i])

    def instant_at(self, need: int) -> int:
        """The earliest instant with open_until(instant) == need, for 0 < need <= total."""
        i = bisect_left(self.cum_end, need)
        return self.ends[i] - (self.cum_end[i] - need)

    def next_open(self, us: int) -> int | None:
        """`us` if open, else the next opening in this week, else None."""
        i = bisect_right(self.starts, us) - 1
        if i >= 0 and us < self.ends[i]:
            return us
        return self.starts[i + 1] if i + 1 < len(self.starts) else None
