"""Properties of the business-time calendars, and agreement with an independent brute force.

The brute force does not call the code under test. It walks minute by minute through UTC, converts
each minute to local wall-clock time with `zoneinfo`, and applies the weekly rule directly to the
*running maximum* of the wall clock. That running maximum is the documented local-time rule in
another form: a boundary at local time L falls at the first instant whose wall clock reads L or
later, so an instant is past the boundary exactly when the wall clock has already reached L. (It
makes a missing local time open at the transition and an ambiguous one at its first occurrence.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from processor.domain.calendar import BASIC_WINDOW, WeeklyCalendar, WeeklyWindow

ZONES = [
    "America/New_York",
    "Europe/Paris",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",
    "Pacific/Chatham",  # +12:45 / +13:45, switching at 02:45
    "UTC",
]
MINUTE = timedelta(minutes=1)
FIRST = datetime(2020, 1, 1, tzinfo=UTC)
LAST = datetime(2030, 12, 31, tzinfo=UTC)
MINUTES_IN_RANGE = (LAST - FIRST) // MINUTE


@cache
def _transitions(zone: str) -> tuple[datetime, ...]:
    """Instants (to the minute) at which the zone's UTC offset changes: daily sampling, then
    bisection between the two days that differ."""
    tz = ZoneInfo(zone)
    days = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days)]
    found = []
    for low, high in pairwise(days):
        if low.astimezone(tz).utcoffset() == high.astimezone(tz).utcoffset():
            continue
        while high - low > MINUTE:
            mid = low + (high - low) // 2 // MINUTE * MINUTE
            if mid.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                low = mid
            else:
                high = mid
        found.append(high)
    return tuple(found)


@dataclass(frozen=True)
class Case:
    zone: str
    windows: list[WeeklyWindow]
    holidays: set[date]
    start: datetime

    def calendar(self) -> WeeklyCalendar:
        return WeeklyCalendar(self.zone, self.windows, self.holidays)


# --- strategies -----------------------------------------------------------------------------------

usually = st.integers(0, 3).map(bool)  # True 3 times in 4


@st.composite
def boundaries(draw: st.DrawFn, hint: datetime | None) -> tuple[int, time]:
    """A (weekday, local time) on whole minutes; with a `hint` (the local wall time at a DST
    transition), usually within 90 minutes of it, so gaps and folds are hit."""
    if hint is not None and draw(usually):
        wall = hint + draw(st.integers(-90, 90)) * MINUTE
        return wall.weekday(), wall.time()
    return draw(st.integers(0, 6)), draw(st.builds(time, st.integers(0, 23), st.integers(0, 59)))


@st.composite
def windows(draw: st.DrawFn, hint: datetime | None = None) -> WeeklyWindow:
    while True:
        (start_day, start_time), (end_day, end_time) = (
            draw(boundaries(hint)),
            draw(boundaries(hint)),
        )
        if (start_day, start_time) != (end_day, end_time):
            return WeeklyWindow(start_day, start_time, end_day, end_time)


@st.composite
def cases(draw: st.DrawFn, at_transition: bool = False) -> Case:
    """A zone, Basic or 1-3 random windows, 0-3 holidays near the start, and a start minute in
    2020-2030: usually (always if `at_transition`) a few days before or just after a DST
    transition of the zone, with window boundaries usually close to the transition."""
    zones = [z for z in ZONES if _transitions(z)] if at_transition else ZONES
    zone = draw(st.sampled_from(zones))
    tz, transitions, hint = ZoneInfo(zone), _transitions(zone), None
    if transitions and (at_transition or draw(usually)):
        transition = draw(st.sampled_from(transitions))
        start = transition + draw(st.integers(-5 * 1440, 1440)) * MINUTE
        hint = (transition - MINUTE).astimezone(tz).replace(tzinfo=None) + MINUTE
    else:
        start = FIRST + draw(st.integers(0, MINUTES_IN_RANGE)) * MINUTE
    chosen = draw(
        st.one_of(st.just([BASIC_WINDOW]), st.lists(windows(hint), min_size=1, max_size=3))
    )
    local_day = start.astimezone(tz).date()
    holidays = {
        local_day + timedelta(days=n) for n in draw(st.lists(st.integers(-1, 8), max_size=3))
    }
    return Case(zone, chosen, holidays, start)


amounts = st.integers(1, 3 * 24 * 60).map(lambda n: n * MINUTE) | st.timedeltas(
    min_value=timedelta(microseconds=1), max_value=timedelta(days=10)
)
spans = st.integers(0, 10 * 24 * 60).map(lambda n: n * MINUTE)


# --- algebraic properties -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(cases(), amounts, amounts)
def test_add_is_monotonic_in_amount(case: Case, a: timedelta, b: timedelta) -> None:
    cal, start = case.calendar(), case.start
    small, large = sorted((a, b))
    assert cal.add(start, small) <= cal.add(start, large)


@settings(max_examples=200, deadline=None)
@given(cases(), spans, spans)
def test_between_is_monotonic_in_end(case: Case, a: timedelta, b: timedelta) -> None:
    cal, start = case.calendar(), case.start
    near, far = sorted((a, b))
    assert cal.between(start, start + near) <= cal.between(start, start + far)


@settings(max_examples=200, deadline=None)
@given(cases(), amounts, amounts)
def test_add_is_additive(case: Case, a: timedelta, b: timedelta) -> None:
    cal, start = case.calendar(), case.start
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@settings(max_examples=200, deadline=None)
@given(cases(), amounts)
def test_between_inverts_add(case: Case, amount: timedelta) -> None:
    cal, start = case.calendar(), case.start
    deadline = cal.add(start, amount)
    assert cal.between(start, deadline) == amount
    # Earliest such instant: business time was still running just before it.
    assert cal.is_open(deadline - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(cases(), st.integers(-2 * 1440, 10 * 1440).map(lambda n: n * MINUTE))
def test_add_between_is_at_most_end(case: Case, offset: timedelta) -> None:
    cal, start = case.calendar(), case.start
    end = start + offset
    elapsed = cal.between(start, end)
    back = cal.add(start, elapsed)
    if elapsed > timedelta(0):
        assert back <= end
    else:  # add(start, 0) is next_open(start), which may lie after a closed `end`
        assert back == cal.next_open(start)
    if cal.is_open(end) and end >= start:
        assert back == end


@settings(max_examples=200, deadline=None)
@given(cases())
def test_next_open_is_open_and_nothing_is_skipped(
    case: Case,
) -> None:
    cal, start = case.calendar(), case.start
    opens = cal.next_open(start)
    assert opens >= start
    assert cal.is_open(opens)
    assert cal.between(start, opens) == timedelta(0)


# --- brute force ----------------------------------------------------------------------------------


def _in_window(wall: datetime, window: WeeklyWindow) -> bool:
    """Whether a local wall-clock time falls in the weekly window, by weekday/time arithmetic."""
    at = timedelta(days=wall.weekday(), hours=wall.hour, minutes=wall.minute)
    start = timedelta(
        days=window.start_day, hours=window.start_time.hour, minutes=window.start_time.minute
    )
    end = timedelta(days=window.end_day, hours=window.end_time.hour, minutes=window.end_time.minute)
    if end > start:
        return start <= at < end
    return at >= start or at < end  # the window wraps over Sunday -> Monday


def _brute_force_open_minutes(
    zone: str,
    windows: Sequence[WeeklyWindow],
    holidays: set[date],
    start: datetime,
    span: timedelta,
) -> list[bool]:
    tz = ZoneInfo(zone)
    warmup = timedelta(hours=6)  # longer than any fall-back, so the running maximum is right
    running_max = (start - warmup).astimezone(tz).replace(tzinfo=None)
    result = []
    for n in range(-(warmup // MINUTE), span // MINUTE):
        wall = (start + n * MINUTE).astimezone(tz).replace(tzinfo=None)
        running_max = max(running_max, wall)
        if n >= 0:
            closed = running_max.date() in holidays
            result.append(not closed and any(_in_window(running_max, w) for w in windows))
    return result


@settings(max_examples=300, deadline=None)
@given(cases(), spans)
def test_agrees_with_minute_by_minute_brute_force(case: Case, span: timedelta) -> None:
    cal, start = case.calendar(), case.start
    expected = _brute_force_open_minutes(case.zone, case.windows, case.holidays, start, span)
    assert cal.between(start, start + span) == sum(expected) * MINUTE
    # Spot-check is_open on every 7th minute (all of them would be slow and add little).
    for n in range(0, len(expected), 7):
        assert cal.is_open(start + n * MINUTE) == expected[n], start + n * MINUTE


@settings(max_examples=100, deadline=None)
@given(cases(at_transition=True), st.integers(0, 3 * 1440).map(lambda n: n * MINUTE))
def test_agrees_with_brute_force_across_a_transition(case: Case, extra: timedelta) -> None:
    """Always spans a DST transition, with boundaries often in its gap or fold."""
    cal, start = case.calendar(), case.start
    span = timedelta(days=5) + extra  # the start is at most 5 days before the transition
    expected = _brute_force_open_minutes(case.zone, case.windows, case.holidays, start, span)
    assert cal.between(start, start + span) == sum(expected) * MINUTE
