"""Business-time calendars: how much SLA time runs between two instants.

Every argument is a timezone-aware `datetime` (a naive one raises `ValueError`); every returned
`datetime` is in UTC. Durations are real elapsed time: a DST change moves wall-clock times, never
the length of an hour. Arithmetic is exact (integer microseconds); nothing here reads the clock.

Semantics shared by all calendars:

- ``is_open(at)``: open periods are half-open, ``[opens, closes)``.
- ``next_open(at)``: ``at`` itself if open, else the start of the next open period.
- ``between(start, end)``: open time in ``[start, end)``; ``timedelta(0)`` if ``end <= start``.
- ``add(start, amount)``: for ``amount > 0``, the earliest instant ``t`` with
  ``between(start, t) == amount``, so ``t`` is inside an open period or exactly at its close.
  ``add(start, timedelta(0))`` is ``next_open(start)``: the clock of a ticket created out of hours
  starts when the calendar opens. A negative amount raises `ValueError`.

`WeeklyCalendar` local-time rules (windows and holidays are given in the zone's wall-clock time):
a boundary is the first instant at which the wall clock reads that local time or later. So a local
time that does not exist (spring-forward gap, e.g. Monday 00:01 in Asia/Tehran on 2021-03-22,
when clocks jumped from 00:00 to 01:00) resolves to the transition instant, and an ambiguous one
(fall-back) to its first occurrence (fold=0).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from processor.domain._weeks import (
    EPOCH,
    MICROSECOND,
    Interval,
    Week,
    clip,
    from_us,
    resolve_local,
    subtract,
    to_us,
    union,
)
from processor.domain.instants import check_zone
from processor.domain.quoting import quote

__all__ = [
    "BASIC_WINDOW",
    "AlwaysOpen",
    "BusinessCalendar",
    "WeeklyCalendar",
    "WeeklyWindow",
    "basic_calendar",
]

_ZERO = timedelta(0)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_WEEK_CACHE_SIZE = 512  # weeks per calendar: ~10 years of tickets for one zone


@runtime_checkable
class BusinessCalendar(Protocol):
    """When the SLA clock runs. See the module docstring for the exact semantics."""

    def add(self, start: datetime, amount: timedelta) -> datetime: ...
    def add_each(self, start: datetime, amounts: Sequence[timedelta]) -> list[datetime]: ...
    def between(self, start: datetime, end: datetime) -> timedelta: ...
    def next_open(self, at: datetime) -> datetime: ...
    def is_open(self, at: datetime) -> bool: ...


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def _utc(value: datetime, name: str) -> datetime:
    """`value` in UTC; the checks of `_aware` are skipped for what is already UTC (the core's
    instants always are)."""
    if value.tzinfo is UTC and type(value) is datetime:
        return value
    return _aware(value, name).astimezone(UTC)


def _amount(amount: timedelta) -> timedelta:
    if amount < _ZERO:
        raise ValueError(f"amount must not be negative, got {amount}")
    return amount


class AlwaysOpen:
    """24x7: business time is elapsed time."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        # Convert first: aware arithmetic in a non-UTC zone would add wall-clock time.
        return _utc(start, "start") + _amount(amount)

    def add_each(self, start: datetime, amounts: Sequence[timedelta]) -> list[datetime]:
        """`[add(start, a) for a in amounts]`."""
        utc = _utc(start, "start")
        if min(amounts, default=_ZERO) < _ZERO:
            _amount(min(amounts))
        return [utc + amount for amount in amounts]

    def between(self, start: datetime, end: datetime) -> timedelta:
        elapsed = _utc(end, "end") - _utc(start, "start")
        return elapsed if elapsed > _ZERO else _ZERO

    def next_open(self, at: datetime) -> datetime:
        return _aware(at, "at").astimezone(UTC)

    def is_open(self, at: datetime) -> bool:
        _aware(at, "at")
        return True

    def __repr__(self) -> str:
        return "AlwaysOpen()"


@dataclass(frozen=True)
class WeeklyWindow:
    """A weekly open period in local wall-clock time, from (start_day, start_time) up to
    (end_day, end_time), exclusive. Days: 0 = Monday .. 6 = Sunday. The window may span days
    (Mon 00:01 -> Fri 23:59) and wrap over the week's end (Fri 22:00 -> Mon 06:00); an end equal
    to the start is rejected as empty."""

    start_day: int
    start_time: time
    end_day: int
    end_time: time

    def __post_init__(self) -> None:
        for name in ("start_day", "end_day"):
            day = getattr(self, name)
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"{name} must be 0 (Monday) .. 6 (Sunday), got {day!r}")
        for name in ("start_time", "end_time"):
            if getattr(self, name).tzinfo is not None:
                raise ValueError(f"{name} is a local wall-clock time and must not carry a tzinfo")
        if self.start_offset == self._offset(self.end_day, self.end_time):
            raise ValueError(f"window {self} has zero length")

    @staticmethod
    def _offset(day: int, at: time) -> timedelta:
        return timedelta(
            days=day,
            hours=at.hour,
            minutes=at.minute,
            seconds=at.second,
            microseconds=at.microsecond,
        )

    @property
    def start_offset(self) -> timedelta:
        """Wall-clock offset of the start from Monday 00:00."""
        return self._offset(self.start_day, self.start_time)

    @property
    def wraps(self) -> bool:
        """Whether the end is earlier in the week than the start (the window spans Monday
        00:00)."""
        return self._offset(self.end_day, self.end_time) < self.start_offset

    @property
    def end_offset(self) -> timedelta:
        """Wall-clock offset of the end from the Monday 00:00 of the start's week (> start)."""
        end = self._offset(self.end_day, self.end_time)
        return end if end > self.start_offset else end + _WEEK


#: The seed's Basic support hours: Monday 00:01 to Friday 23:59, customer's local time.
BASIC_WINDOW = WeeklyWindow(0, time(0, 1), 4, time(23, 59))


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(check_zone(tz))  # checked first: a name like 'America' is a directory
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {quote(tz)}") from exc


class WeeklyCalendar:
    """Open during recurring weekly windows in one IANA zone, closed on holidays: the local
    dates of `holidays`, and those in `public` (a country's public holidays, any year).

    A holiday (a local date) closes that whole local day, [00:00, next day 00:00), wherever it
    intersects a window. Open intervals are computed once per local week and cached, so `add`
    and `between` cost a few bisections per week crossed.
    """

    def __init__(
        self,
        tz: str | ZoneInfo,
        windows: Sequence[WeeklyWindow],
        holidays: Iterable[date] = (),
        public: Container[date] | None = None,
    ) -> None:
        self._zone = _zone(tz)
        self._windows = tuple(windows)
        if not self._windows:
            raise ValueError("a weekly calendar needs at least one window")
        for window in self._windows:
            if not isinstance(window, WeeklyWindow):
                raise TypeError(f"windows must be WeeklyWindow, got {type(window).__name__}")
        self._holidays = frozenset(holidays)
        self._public = public  # a country's public holidays (looked up per local date)
        self._week = lru_cache(maxsize=_WEEK_CACHE_SIZE)(self._build_week)
        self._last: Week | None = None  # the week `_week_at` found last (events come in order)

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def __repr__(self) -> str:
        holidays = sorted(self._holidays)
        return f"WeeklyCalendar({self._zone.key!r}, {list(self._windows)!r}, {holidays!r})"

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return self.add_each(start, (_amount(amount),))[0]

    def add_each(self, start: datetime, amounts: Sequence[timedelta]) -> list[datetime]:
        """`[add(start, a) for a in amounts]`, finding the week of `start` once."""
        start_us = to_us(_utc(start, "start"))
        first = self._week_at(start_us, start)
        base = first.open_until(start_us)
        out = []
        week, skipped, previous = first, 0, _ZERO  # weeks walked for `previous`, their open time
        for amount in amounts:
            if amount <= _ZERO:
                _amount(amount)
                out.append(self.next_open(start))
                continue
            if amount < previous:  # not in ascending order: walk again from the first week
                week, skipped = first, 0
            previous = amount
            need = base + amount // MICROSECOND - skipped
            while need > week.total:
                need -= week.total
                skipped += week.total
                week = self._week(week.key + 7)
            i = bisect_left(week.cum_end, need)  # `Week.instant_at`, inlined: the hot path
            out.append(EPOCH + timedelta(microseconds=week.ends[i] - (week.cum_end[i] - need)))
        return out

    def between(self, start: datetime, end: datetime) -> timedelta:
        start_us, end_us = to_us(_utc(start, "start")), to_us(_utc(end, "end"))
        if end_us <= start_us:
            return timedelta(0)
        first, last = self._week_at(start_us, start), self._week_at(end_us, end)
        if first.key == last.key:
            return timedelta(microseconds=last.open_until(end_us) - first.open_until(start_us))
        total = first.total - first.open_until(start_us) + last.open_until(end_us)
        for key in range(first.key + 7, last.key, 7):
            total += self._week(key).total
        return timedelta(microseconds=total)

    def next_open(self, at: datetime) -> datetime:
        at_us = to_us(_aware(at, "at"))
        week = self._week_at(at_us, at)
        found = week.next_open(at_us)
        while found is None:
            week = self._week(week.key + 7)
            found = week.next_open(week.start)
        return from_us(found)

    def is_open(self, at: datetime) -> bool:
        at_us = to_us(_aware(at, "at"))
        return self._week_at(at_us, at).next_open(at_us) == at_us

    def _week_at(self, us: int, instant: datetime) -> Week:
        """The local week containing the instant `us` (== `instant`)."""
        last = self._last
        if last is not None and last.start <= us < last.end:  # weeks do not overlap
            return last
        self._last = last = self._find_week(us, instant)
        return last

    def _find_week(self, us: int, instant: datetime) -> Week:
        local = instant.astimezone(self._zone)
        week = self._week(local.toordinal() - local.weekday())
        # A fall-back over local midnight can put an instant's local date in the week before
        # (or after) the week whose resolved bounds contain it.
        while us < week.start:
            week = self._week(week.key - 7)
        while us >= week.end:
            week = self._week(week.key + 7)
        return week

    def _build_week(self, key: int) -> Week:
        monday = datetime.fromordinal(key)
        start, end = self._resolve(monday), self._resolve(monday + _WEEK)
        raw: list[Interval] = []
        # A window anchored in the previous week may run into this one.
        for anchor in (monday - _WEEK, monday):
            for window in self._windows:
                opens = self._resolve(anchor + window.start_offset)
                raw.append((opens, self._resolve(anchor + window.end_offset)))
        closed = [
            (self._resolve(monday + n * _DAY), self._resolve(monday + (n + 1) * _DAY))
            for n in range(7)
            if self._closed((monday + n * _DAY).date())
        ]
        intervals = subtract(clip(union(raw), start, end), closed)
        return Week.build(key, start, end, intervals)

    def _closed(self, day: date) -> bool:
        return day in self._holidays or (self._public is not None and day in self._public)

    def _resolve(self, wall: datetime) -> int:
        return resolve_local(wall, self._zone)


def basic_calendar(tz: str | ZoneInfo, holidays: Iterable[date] = ()) -> WeeklyCalendar:
    """The seed's Basic support hours (`BASIC_WINDOW`) in `tz`."""
    return WeeklyCalendar(tz, [BASIC_WINDOW], holidays)
